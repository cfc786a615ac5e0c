import { rawSize } from './stages/size-limit';
import type { Config } from '../config/schema';
import { errorMessage } from '../lib/errors';
import { learnCorrection } from '../spam/correct';
import { isSqliteStoreFailure } from '../store/failures';
import type { Db, Store } from '../store/open';
import { addEvent, type EventInput } from '../store/tickets';
import { runPlan, sqliteWrites, write, type Plan } from '../store/writes';
import { SHARED_MESSAGE_ID } from '../store/messages';
import { replyUndeliveredPlan } from './reply-undelivered';
import { enqueuePlan } from './enqueue';
import { attachmentsFor } from './mail-attachments';
import { roundRobinKey, secretOf } from './store-reader';
import type { Draft, IngestResult, Lesson, LessonOutcome } from './types';

/**
 * The only writer of the ingest pipeline (docs/ARCHITECTURE.md). Attachment bodies are written
 * first (content-addressed, so a crash leaves at most an unreferenced file); then everything
 * else happens in ONE immediate transaction, which re-checks dedup so that two processes
 * (the daemon and an `ingest` pipe) can never both create the same message. What is written
 * is one plan (applyPlan) for every store; SQLite runs it synchronously inside its transaction.
 */
export function apply(draft: Draft, store: Store, config: Config, lesson?: Lesson): IngestResult {
  const files = keepAttachments(draft, config, (a) => store.blobs.saveAttachment(a.content, a.sha256));
  return store.db.transaction(
    (tx) => {
      const result = runPlan(applyPlan(draft, config, files), sqliteWrites(tx));
      return lesson && result.outcome === 'appended' ? { ...result, lesson: learnWithin(store, tx, lesson, draft.receivedAt) } : result;
    },
    { behavior: 'immediate' },
  );
}

/**
 * The message's lesson, inside its transaction: a store failure undoes the message with it (it
 * is offered again, and teaches then); any other failure (its first mail's file unreadable,
 * say) is the lesson's alone, which is undone while the message stands.
 */
function learnWithin(store: Store, tx: Db, lesson: Lesson, at: number): LessonOutcome {
  try {
    return { learnt: learnCorrection(store, lesson.ticketId, lesson.label, at) };
  } catch (err) {
    if (isSqliteStoreFailure(err)) throw err;
    const failed = errorMessage(err);
    addEvent(tx, lessonFailedEvent(lesson, at, failed));
    return { failed };
  }
}

/** The ticket's record of a lesson that could not be learnt: its history says so, not only the log. */
export function lessonFailedEvent(lesson: Lesson, at: number, failed: string): EventInput {
  return { ticketId: lesson.ticketId, at, actor: 'system', type: 'spam_lesson_failed', to: lesson.label, reason: `${lesson.why}: not learnt (${failed})` };
}

/** Where each attachment of the message was kept, or why it was not. */
export type KeptFiles = { path: string | null; omittedReason: string | null }[];

/**
 * Keeps the attachment bodies within limits.maxAttachmentSize with `keep` (which returns where
 * it kept one); larger ones are recorded as omitted. SQLite writes the files before its
 * transaction (content-addressed, so a crash leaves at most an unreferenced file).
 */
export function keepAttachments(draft: Draft, config: Config, keep: (a: { content: Buffer; sha256: string }) => string): KeptFiles {
  if (draft.stop || !draft.mail) return [];
  const limit = config.limits.maxAttachmentSize;
  return draft.mail.attachments.map((a) =>
    a.size > limit ? { path: null, omittedReason: `attachment is ${a.size} bytes, over limits.maxAttachmentSize (${limit} bytes)` } : { path: keep(a), omittedReason: null },
  );
}

/** Everything a message writes, as store operations (store/writes.ts), given where its attachments were kept. */
export function* applyPlan(draft: Draft, config: Config, files: KeptFiles): Plan<IngestResult> {
  const base = { source: draft.raw.source, position: draft.raw.position, rawSha256: draft.rawSha256, rawPath: draft.rawPath, size: rawSize(draft.raw), receivedAt: draft.receivedAt };

  if (draft.stop) {
    const stop = draft.stop;
    yield* write('insertInbound', { ...base, outcome: stop.outcome, reason: stop.reason, ticketId: null, messageRowId: null });
    if (stop.outcome === 'ignored') yield* recordBounce(draft, config, null);
    return { source: draft.raw.source, outcome: stop.outcome, ticket: stop.ticket, threadedBy: null, reason: stop.reason };
  }

  const { mail, thread, actor } = draft;
  if (!mail || !thread || !actor) throw new Error('apply needs a parsed, threaded message with an actor');
  const now = draft.receivedAt;
  const sender = mail.from?.address ?? null;
  const earlier = (yield* write('processedRaw', draft.rawSha256)) ?? (mail.messageIdSynthetic ? null : yield* write('inboundMessage', mail.messageId, sender));
  if (earlier) {
    const reason = 'already processed by another ingest while this one ran';
    yield* write('insertInbound', { ...base, outcome: 'duplicate', reason, ticketId: null, messageRowId: null });
    return { source: draft.raw.source, outcome: 'duplicate' as const, ticket: earlier.ticketRef, threadedBy: null, reason };
  }

  const senderId = sender ? yield* write('upsertContact', sender, mail.from?.name ?? null, now) : null;
  const who = actor.role === 'agent' ? `agent:${actor.address}` : (sender ?? 'unknown');
  let ticket = thread.ticket;
  if (!ticket) {
    const t = draft.newTicket;
    if (!t) throw new Error('a new ticket needs the decide stage');
    const row = yield* write('createTicket', config.helpdesk.ticketPrefix, {
      subject: t.subject,
      status: t.status,
      severity: t.severity,
      priority: t.priority,
      category: t.category,
      categorySource: t.categorySource,
      queue: t.queue,
      assignee: t.assignee,
      tags: t.tags,
      spamVerdict: t.spamVerdict,
      spamScore: t.spamScore,
      customerId: senderId,
      channel: draft.raw.mailbox,
      createdAt: now,
      updatedAt: now,
      dueAt: t.dueAt,
      firstResponseDueAt: t.firstResponseDueAt,
      organisation: t.organisation,
      contract: t.contract,
      slaLevel: t.slaLevel,
    });
    ticket = row;
    const why = Object.entries(t.reasons).map(([k, v]) => `${k}: ${v}`).join('; ');
    yield* write('addEvent', { ticketId: ticket.id, at: now, actor: who, type: 'created', to: t.status, reason: `${thread.reason}; ${why}` });
    if (senderId !== null) yield* write('addParticipant', ticket.id, senderId, actor.role === 'agent' ? 'agent' : 'customer', now);
    const assignment = draft.assignment;
    if (assignment?.assignee) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'assigned', to: assignment.assignee, reason: assignment.reason });
    else if (assignment && t.status !== 'spam') yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'unassigned', to: assignment.notifyUnassigned.join(', ') || null, reason: assignment.reason });
    if (assignment?.roundRobin) yield* write('setValue', roundRobinKey(assignment.roundRobin.group), assignment.roundRobin.agent);
    if (draft.forwardedBy) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: `agent:${draft.forwardedBy.address}`, type: 'forwarded', to: sender, reason: draft.forwardedBy.reason });
    if (draft.forwardUnread) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: `agent:${draft.forwardUnread.address}`, type: 'forward_unread', to: null, reason: draft.forwardUnread.reason });
    if (thread.linkTo) {
      yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'linked', to: thread.linkTo.ref, reason: thread.reason });
      yield* write('addEvent', { ticketId: thread.linkTo.id, at: now, actor: 'system', type: 'linked', to: ticket.ref, reason: thread.reason });
    }
  } else {
    yield* write('touchTicket', ticket.id, now);
  }

  for (const p of actor.participants) {
    const contactId = yield* write('upsertContact', p.address, p.name, now);
    if (yield* write('addParticipant', ticket.id, contactId, 'cc', now)) {
      yield* write('addEvent', { ticketId: ticket.id, at: now, actor: who, type: 'participant_added', to: p.address, reason: 'addressed on an inbound message' });
    }
  }
  yield* notJoined(ticket.id, now, 'participants_limited', actor.participantsNotAdded, `addressed people not made participants: limits.maxParticipants (${config.limits.maxParticipants}) reached`);
  yield* notJoined(ticket.id, now, 'participants_unusable', actor.participantsUnusable.map((a) => JSON.stringify(a)), 'addressed entries are not mail addresses and were not made participants');
  yield* notJoined(ticket.id, now, 'participants_unproven', actor.participantsUnproven, "addressed people not made participants: the reply was found by its subject tag alone, which anyone can write, not by a Message-ID of the ticket's mail (an agent can #cc them)");
  if (actor.trustWarning) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'trust_warning', reason: actor.trustWarning });

  const messageRowId = yield* write('insertMessage', {
    ticketId: ticket.id,
    direction: 'in',
    kind: messageKind(draft),
    messageId: mail.messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    fromAddress: sender,
    fromName: mail.from?.name || null,
    to: mail.to,
    cc: mail.cc,
    subject: mail.subject,
    // An agent's reply is stored as written: without quoted history, signature and commands.
    text: draft.update && draft.actor?.role === 'agent' ? draft.update.text : mail.text,
    html: draft.update && draft.actor?.role === 'agent' ? null : mail.html,
    headers: mail.headers,
    date: mail.date?.getTime() ?? null,
    threadedBy: thread.threadedBy,
    spamScore: draft.spam?.score ?? null,
    rawPath: draft.rawPath,
    createdAt: now,
  });
  const holder = yield* write('registerMessageId', mail.messageId, ticket.id, now);
  if (holder !== ticket.id && !mail.messageIdSynthetic) {
    // Two senders' messages with one Message-ID (this one passed dedup, which matches by sender
    // too): whoever wrote first may have learnt a customer's id early, to have replies naming it
    // threaded onto their own ticket. Neither copy decides where such replies go any more.
    yield* write('setValue', `${SHARED_MESSAGE_ID}${mail.messageId}`, String(now));
    const why = `Message-ID ${mail.messageId} was also carried by a message from another sender on another ticket: replies are not threaded by it any more`;
    yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'message_id_shared', to: mail.messageId, reason: why });
    yield* write('addEvent', { ticketId: holder, at: now, actor: 'system', type: 'message_id_shared', to: mail.messageId, reason: why });
  }
  yield* write(
    'insertAttachments',
    mail.attachments.map((a, i) => ({
      messageId: messageRowId,
      filename: a.filename,
      contentType: a.contentType,
      size: a.size,
      sha256: a.sha256,
      contentId: a.contentId,
      inline: a.inline,
      path: files[i].path,
      omittedReason: files[i].omittedReason,
    })),
  );
  yield* recordBounce(draft, config, ticket.id);
  if (draft.update) yield* applyUpdate(draft.update, now);
  const notify = draft.notify;
  if (notify) {
    const storedSecret = yield* write('getValue', 'message_id_secret');
    const secret = secretOf(config, () => storedSecret);
    const stored = mail.attachments.map((attachment, i) => ({ attachment, ...files[i] }));
    for (const planned of notify.mails) {
      const thread = planned.thread ?? { inReplyTo: mail.messageId, references: mail.references };
      const carried = attachmentsFor(planned, stored, config);
      const withFiles = carried.attachmentList.length > 0 ? { ...planned, data: { ...planned.data, ...carried } } : planned;
      yield* enqueuePlan(config, { mail: withFiles, ticket, inReplyTo: thread.inReplyTo, references: thread.references, secret, at: now });
      // The language the customer was first answered in is theirs from now on.
      if (planned.template === 'ack') yield* write('setContactLocale', planned.to, planned.locale);
    }
    for (const reason of notify.withheld) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'notification_withheld', reason });
    if (notify.floodWarning) yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'flood_warning', reason: notify.floodWarning });
  }
  const outcome = thread.ticket ? ('appended' as const) : ('created' as const);
  yield* write('insertInbound', { ...base, outcome, reason: thread.reason, ticketId: ticket.id, messageRowId });
  // Only a new ticket is judged; a reply in a known conversation is never junk.
  const spamVerdict = thread.ticket ? null : (draft.spam?.verdict ?? null);
  return { source: draft.raw.source, outcome, ticket: ticket.ref, threadedBy: thread.threadedBy, reason: thread.reason, spam: spamVerdict };
}

/** A matched bounce marks our outbox row bounced; a hard one naming its recipient suppresses automatic mail to it. */
function* recordBounce(draft: Draft, config: Config, ticketId: number | null): Plan<void> {
  const b = draft.bounce;
  if (!b?.outbox) return;
  const now = draft.receivedAt;
  const recipient = b.outbox.recipient;
  yield* write('markBounced', b.outbox.id, b.report.status, b.report.diagnostic, now);
  if (ticketId !== null) yield* write('addEvent', { ticketId, at: now, actor: 'system', type: 'bounced', to: recipient, reason: b.reason });
  // Only a report that names the address our message went to silences it (the bounce stage
  // refused one that names another); a report naming nobody marks the row and no more.
  const aboutRecipient = b.report.recipient === recipient.toLowerCase();
  if (b.report.hard && aboutRecipient) {
    yield* write('suppress', recipient, `hard bounce ${b.report.status}: ${b.report.diagnostic ?? ''}`.trim(), now + config.notifications.suppressAfterHardBounce, now);
  }
  // Any permanent failure (5.x.x, a policy refusal too) of a relayed reply: its agent is told,
  // once per reply (the customer, who knows its Message-ID, could write a report again and
  // again); a "delayed" report (4.x.x) before the failure does not count.
  if (aboutRecipient && b.report.status?.startsWith('5.') && !b.outbox.bounceStatus?.startsWith('5.')) {
    const o = b.outbox;
    yield* replyUndeliveredPlan(config, { id: o.id, ticketId: o.ticket?.id ?? null, ref: o.ticket?.ref ?? null, template: o.template, recipients: [recipient], data: o.data }, `bounced, ${b.report.status}${b.report.diagnostic ? `: ${b.report.diagnostic}` : ''}`, now);
  }
}

/** A reply's commands and effects, all in the message's transaction (issue #6). */
function* applyUpdate(u: NonNullable<Draft['update']>, at: number): Plan<void> {
  const id = u.ticket.id;
  if (u.errors.length > 0) {
    yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'commands_rejected', reason: u.errors.join('; ') });
    return;
  }
  for (const change of u.changes) yield* write('applyChange', id, change, u.actor, at, u.reason || null);
  // The ticket as this reply's field changes left it, read once for what follows.
  const after = u.spamLabel || u.locale || u.merge ? yield* write('ticketInfo', id) : null;
  if (u.firstResponse) yield* write('setFirstResponse', id, at);
  if (u.note) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'note_added', reason: u.text.slice(0, 200) || null });
  for (const p of u.cc) {
    if (yield* write('addParticipant', id, yield* write('upsertContact', p.address, null, at), 'cc', at)) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'participant_added', to: p.address, reason: '#cc' });
  }
  for (const name of u.answers) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'answer_used', to: name, reason: u.note ? '#answer in an internal note' : '#answer' });
  if (u.timeSpent) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'time_spent', to: String(Math.round(u.timeSpent / 60000)), reason: 'minutes, #time' });
  if (u.rating) {
    yield* write('setRating', id, u.rating.score, u.rating.comment, at);
    yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'rated', to: String(u.rating.score), reason: u.rating.comment });
  }
  // Every #spam / #notspam is in the history, also one that changes no status, and the
  // ticket's verdict follows the agent's word (#notspam clears an `unsure` flag).
  if (u.spamLabel) {
    const verdict = u.spamLabel === 'ham' ? 'ham' : 'spam';
    const before = after?.spamVerdict ?? null;
    if (before !== verdict) yield* write('setSpamVerdict', id, verdict);
    yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'spam_label', from: before, to: verdict, reason: u.spamLabel === 'ham' ? '#notspam: learnt as ham' : '#spam: learnt as spam' });
  }
  if (u.locale) {
    const customer = after?.customer ?? null;
    if (customer) yield* write('setContactLocale', customer, u.locale, { replace: true });
    yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'language_set', to: u.locale, reason: customer ? `#lang: mail to ${customer} in ${u.locale} from now on` : '#lang: the ticket has no customer address' });
  }
  if (u.thanked) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'thanked', reason: u.reason });
  for (const why of u.ignored) yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'command_ignored', reason: why });
  if (u.merge) {
    // Merging closes this ticket: its history says so like any other status change.
    const status = after?.status ?? null;
    yield* write('mergeTicket', id, u.merge.id, at);
    if (status !== 'closed') yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'status_changed', from: status, to: 'closed', reason: `#merge into ${u.merge.ref}` });
    yield* write('addEvent', { ticketId: id, at, actor: u.actor, type: 'merged_into', to: u.merge.ref, reason: '#merge' });
    yield* write('addEvent', { ticketId: u.merge.id, at, actor: u.actor, type: 'merged_from', to: u.ticket.ref, reason: '#merge' });
  }
}

/** The stored kind of an inbound message (README "Agents work by mail"). */
function messageKind(draft: Draft): string {
  switch (draft.classification?.kind) {
    case 'bounce':
      return 'bounce';
    case 'auto-reply':
      return 'auto_reply';
    case 'report':
    case 'loop':
      return 'system';
    default:
      if (draft.update?.note || (draft.update && draft.update.errors.length > 0)) return 'internal_note';
      // An agent's mail with commands only was not sent to anyone: not a reply.
      if (draft.actor?.role === 'agent') return draft.update && !draft.update.relay ? 'agent_command' : 'agent_reply';
      return 'customer';
  }
}

/** The event naming addressed people (the first five) of a message who were not made participants, and why. */
function* notJoined(ticketId: number, at: number, type: string, addresses: string[], why: string): Plan<void> {
  const n = addresses.length;
  if (n === 0) return;
  yield* write('addEvent', { ticketId, at, actor: 'system', type, to: String(n), reason: `${n} ${why}; they stay on the message (${addresses.slice(0, 5).join(', ')}${n > 5 ? ', …' : ''})` });
}
