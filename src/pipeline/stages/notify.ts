import { LOCALES, type Config, type Severity } from '../../config/schema';
import { isMailAddress } from '../../lib/mail-address';
import { findAgent, isOwnAddress } from '../agents';
import { NO_REPLY } from '../automatic-senders';
import type { Draft, InboundMail, NotifyDecision, PlannedMail, StageContext, Stage, StoreReader, TemplateName, TicketInfo } from '../types';
import type { SuggestRequest } from '../../knowledge/suggest';
import type { FieldChange } from '../changes';
import { detectLanguage } from '../language';
import { ratingLevels, type RatingLevel } from '../ratings';
import { AGENT_COMMANDS } from './commands';
import { groupMembers } from './assign';

/**
 * Who hears about this message (issue #5): the acknowledgement to a new ticket's customer,
 * the assignee (or the people told about an unassigned ticket), and, on a customer's reply,
 * the assignee or else the queue's members or else the admins.
 *
 * Loop protection lives here: automatic mail (auto-replies, bounces, reports, our own mail),
 * bulk and list mail and no-reply senders trigger nothing; acknowledgements to one sender
 * are rate-limited; a sender flooding one ticket stops its notifications (with a warning
 * event, once per window); addresses that hard-bounced get no automatic mail.
 */
export const notify: Stage = {
  name: 'notify',
  async run(draft, ctx) {
    const { mail, thread, actor, classification } = draft;
    if (!mail || !thread || !actor || !classification) return {};
    const none = (why: string): Partial<Draft> => ({ notify: { mails: [], withheld: [], floodWarning: null, quiet: why } });
    if (classification.kind !== 'normal') return none(`${classification.kind}: ${classification.reason}`);
    if (classification.bulk) return none(`bulk or list mail: ${classification.reason}`);
    const sender = mail.from?.address ?? null;
    if (!sender) return none('no sender address');
    if (!isMailAddress(sender)) return none(`sender "${sender}" is not a mail address`);
    if (isOwnAddress(ctx.config, sender)) return none(`sent from our own address ${sender}`);
    if (NO_REPLY.test(sender)) return none(`no-reply sender ${sender}`);

    const plan = new Planner(draft, ctx, mail, sender);
    if (!thread.ticket) await plan.newTicket();
    else await plan.reply(thread.ticket.id);
    await plan.agentNotBelieved();
    return { notify: plan.decision() };
  },
};


/** A ticket a notification is about: the one this message is about to create has no id yet. */
type NotifiedTicket = Omit<TicketInfo, 'id'> & { id: number | null };

/** What may go to the address that sent the message itself; nothing else does. */
const TO_THE_SENDER = new Set<TemplateName>(['ack', 'command_error', 'not_believed']);

/** At most one not_believed notice per agent within this long. */
const NOT_BELIEVED_EVERY = 3_600_000;

class Planner {
  private readonly mails: PlannedMail[] = [];
  private readonly withheld: string[] = [];
  private floodWarning: string | null = null;
  /** The ticket as the notifications show it, once newTicket or reply worked it out. */
  private ticket: NotifiedTicket | null = null;

  constructor(
    private readonly draft: Draft,
    private readonly ctx: StageContext,
    private readonly mail: InboundMail,
    private readonly sender: string,
  ) {}

  decision(): NotifyDecision {
    return { mails: this.mails, withheld: this.withheld, floodWarning: this.floodWarning, quiet: null };
  }

  async newTicket(): Promise<void> {
    const t = this.draft.newTicket;
    if (!t) return;
    if (t.status === 'spam') return;
    const { config } = this.ctx;
    const info: NotifiedTicket = (this.ticket = { id: null, ref: '', subject: t.subject, status: t.status, priority: t.priority, severity: t.severity, category: t.category, queue: t.queue, assignee: t.assignee, customer: this.sender, dueAt: t.dueAt, firstResponseDueAt: t.firstResponseDueAt, pausedAt: null, organisation: t.organisation, contract: t.contract, slaLevel: t.slaLevel, createdAt: this.draft.receivedAt, closedAt: null, firstResponseAt: null, spamVerdict: t.spamVerdict, spamScore: t.spamScore });

    if (this.draft.actor?.role === 'customer') {
      const n = config.notifications;
      const limit = n.ackRateLimit;
      if (!n.acknowledge) this.withheld.push('acknowledgement: notifications.acknowledge is off');
      else if (this.draft.agentClaim?.trusted === false) this.withheld.push(`acknowledgement: ${this.sender} is an agent's address and the mail was not believed to be theirs; the agent is told instead (not_believed)`);
      // A sender our checks do not believe (trust.ts senderDoubt, fallbackDoubt) most likely did
      // not write this: an acknowledgement would carry a stranger's subject to them (backscatter).
      else if (this.draft.senderDoubt) this.withheld.push(`acknowledgement: ${this.sender} is not believed to have written this (${this.draft.senderDoubt})`);
      // Mail the mail server filed as junk is answered only once staff clear it (#notspam sends
      // the acknowledgement held back), whatever withholdAckWhenUnsure says: an automatic reply
      // to what is most likely spam with a forged sender is backscatter.
      else if (t.spamVerdict === 'unsure' && this.draft.raw.filedAsJunk) this.withheld.push(`acknowledgement: the mail server filed this message in ${this.draft.raw.filedAsJunk}; #notspam sends it`);
      else if (t.spamVerdict === 'unsure' && n.withholdAckWhenUnsure) this.withheld.push('acknowledgement: the spam filter is unsure about this message (notifications.withholdAckWhenUnsure)');
      else if ((await this.ctx.store.sentSince('ack', this.sender, this.draft.receivedAt - limit.per)) >= limit.count) {
        this.withheld.push(`acknowledgement: ${this.sender} already got ${limit.count} acknowledgements within ${Math.round(limit.per / 60000)} minutes (notifications.ackRateLimit)`);
      } else {
        const language = await customerLanguage(this.ctx, this.sender, this.mail);
        const suggest: SuggestRequest | null = n.suggestArticles ? { audience: 'customer', subject: this.mail.subject, text: this.mail.text, locale: language.locale } : null;
        const quotes = n.ackQuotes === 'always' || (n.ackQuotes === 'known' && (await this.ctx.store.sentSince('agent_reply', this.sender, 0)) > 0);
        await this.add('ack', this.sender, language.locale, `acknowledgement of a new ticket, in ${language.locale}: ${language.source}`, info, { extra: { suggest }, ...(quotes ? {} : { message: null }) });
      }
    }
    // An unsure verdict is said to whoever hears of the ticket, with how to clear it: the
    // customer may be waiting for an acknowledgement that was held back.
    const extra = { possibleSpam: possibleSpam(info, !this.mails.some((m) => m.template === 'ack'), this.draft.raw.filedAsJunk), suggest: this.agentsSuggestions(this.mail.subject, this.mail.text, false) };
    if (t.assignee) {
      if (t.assignee !== this.sender) await this.add('assigned', t.assignee, config.helpdesk.locale, `assigned to ${t.assignee}: ${this.draft.assignment?.reason ?? ''}`, info, { extra });
    } else {
      for (const to of this.draft.assignment?.notifyUnassigned ?? []) await this.add('unassigned', to, config.helpdesk.locale, `nobody could take the ticket: ${this.draft.assignment?.reason ?? ''}`, info, { extra });
    }
  }

  async reply(ticketId: number): Promise<void> {
    const { store, config } = this.ctx;
    const before = await store.ticketInfo(ticketId);
    if (!before || before.status === 'spam') return;
    // Notifications show the ticket as this message leaves it (a customer's reply reopens a
    // resolved ticket: the agent is told `open`, not `resolved`).
    const info = afterChanges(before, this.draft.update?.errors.length === 0 ? this.draft.update.changes : []);
    this.ticket = info;
    const flood = config.notifications.ticketFlood;
    const since = this.draft.receivedAt - flood.per;
    if ((await store.messagesFromSince(ticketId, this.sender, since)) + 1 > flood.count) {
      this.withheld.push(`notifications: more than ${flood.count} messages from ${this.sender} on ${info.ref} within ${Math.round(flood.per / 60000)} minutes (notifications.ticketFlood)`);
      if (!(await store.hasEventSince(ticketId, 'flood_warning', since))) this.floodWarning = `${this.sender} sent more than ${flood.count} messages within ${Math.round(flood.per / 60000)} minutes; notifications on this ticket stop until the rate drops`;
      return;
    }
    if (this.draft.actor?.role === 'agent') return await this.agentReply(info);
    const recipients = info.assignee ? [info.assignee] : queueOrAdmins(config, info.queue);
    const why = info.assignee ? 'the assignee' : info.queue && groupMembers(config, info.queue).length > 0 ? `the members of queue ${info.queue}` : 'the admins (the ticket has no assignee)';
    const thanked = this.draft.update?.thanked === true;
    const possible = info.spamVerdict === 'unsure' ? possibleSpam(info, !(await store.ticketAcknowledged(info.id))) : null;
    // Suggestions answer what the customer wrote now (their words, without the quoted history);
    // a reply that closes the ticket, or only thanks, asks nothing.
    const settled = thanked || info.status === 'resolved' || info.status === 'closed';
    const suggest = settled || recipients.length === 0 ? null : this.agentsSuggestions(info.subject, this.mail.text, true);
    // Found by the subject's tag alone (thread.ts byTagAlone): nothing shows the sender received
    // the ticket's mail, and a customer's address with a tag is all a spoof needs.
    const byTagAlone = this.draft.thread?.byTagAlone === true;
    for (const to of recipients) await this.add('customer_replied', to, config.helpdesk.locale, `the customer ${thanked ? 'thanked' : 'replied'}; notifying ${why}`, info, { extra: { thanked, possibleSpam: possible, suggest, byTagAlone } });
  }

  /**
   * An agent's reply: relayed to the customer (and CC'd participants) from the support
   * address, in the customer's thread (with a word on how to reopen when it also resolves
   * the ticket); or, when its commands were rejected, one error reply to the agent. A note
   * or a command-only reply sends nothing to the customer.
   */
  private async agentReply(info: TicketInfo): Promise<void> {
    const u = this.draft.update;
    if (!u) return;
    const { config, store } = this.ctx;
    if (u.errors.length > 0) {
      await this.add('command_error', this.sender, config.helpdesk.locale, 'commands rejected', info, { extra: { errors: u.errors, valid: AGENT_COMMANDS } });
      return;
    }
    if (u.spamLabel === 'ham') await this.heldAcknowledgement(info);
    const assignee = u.changes.find((c) => c.field === 'assignee');
    if (assignee) {
      const notice = await assigneeNotice(config, store, info, assignee, this.sender, this.draft.receivedAt);
      // An agent who takes the ticket and answers in the same mail: the customer hears it from
      // them ("Ana via Support"), not in a notice besides.
      const heardInReply = u.relay && assignee.to === this.sender;
      this.mails.push(...notice.mails.filter((m) => !(heardInReply && m.template === 'assignee_changed')));
      this.withheld.push(...notice.withheld);
    }
    const status = u.changes.find((c) => c.field === 'status');
    const change = status && (status.to === 'resolved' || status.to === 'closed') ? { from: status.from, to: status.to } : null;
    if (!u.relay) {
      // Commands only: the customer hears of a resolution, not of the reply they never see.
      if (status) {
        const notice = await statusNotice(config, store, { ...info, status: status.to ?? info.status }, { from: status.from, to: status.to }, this.draft.receivedAt);
        this.mails.push(...notice.mails);
        this.withheld.push(...notice.withheld);
      }
      return;
    }
    const thread = await customerThreadOf(store, info.id);
    const quoted = await store.lastCustomerMessage(info.id);
    const people = [
      ...(info.customer ? [info.customer] : []),
      ...(config.replies.copyParticipants ? (await store.participants(info.id)).filter((p) => p.role === 'cc').map((p) => p.email) : []),
      ...u.cc.map((c) => c.address),
    ];
    const agent = findAgent(config, this.sender);
    for (const to of people) {
      // A `#lang` in this very reply already counts for the customer it names.
      const locale = (u.locale && to === info.customer ? u.locale : null) ?? (await store.contactLocale(to)) ?? config.helpdesk.locale;
      await this.add('agent_reply', to, locale, `${agent?.name ?? this.sender} replied`, info, { message: quoted, thread, relayed: true, extra: { reply: { text: u.text }, agentName: agent?.name ?? null, agentAddress: this.sender, change, rating: ratingInvitation(config, change, locale) } });
    }
  }

  /**
   * `#notspam` on a ticket the filter was unsure about (or had called spam) whose customer was
   * never acknowledged: the acknowledgement held back goes out now, answering their message.
   */
  private async heldAcknowledgement(info: TicketInfo): Promise<void> {
    const { config, store } = this.ctx;
    // `info` shows the ticket after this reply's changes (#notspam moves spam → open); the
    // stored row, not yet changed, says whether it was in spam.
    const suspected = info.spamVerdict === 'unsure' || info.spamVerdict === 'spam' || (await store.ticketInfo(info.id))?.status === 'spam';
    if (!suspected || !info.customer || !config.notifications.acknowledge || (await store.ticketAcknowledged(info.id))) return;
    if (NO_REPLY.test(info.customer)) return;
    const message = await store.lastCustomerMessage(info.id);
    const language = await customerLanguage(this.ctx, info.customer, { subject: message?.subject ?? info.subject, text: message?.text ?? '' });
    await this.add('ack', info.customer, language.locale, `acknowledgement held back while the ticket was suspected spam, sent after #notspam, in ${language.locale}: ${language.source}`, info, { message, thread: await customerThreadOf(store, info.id) });
  }

  /**
   * Mail from an agent's address that the trust check did not believe (trust.ts): nothing it
   * asked for was done and nothing of it reached the customer. The agent hears so, at their
   * configured address, at most once an hour (a spoofer cannot make the desk mail them more):
   * a reply lost to a DNS failure, or to a mail provider that stopped signing, is noticed,
   * and so is someone writing in their name.
   */
  async agentNotBelieved(): Promise<void> {
    const claim = this.draft.agentClaim;
    if (!claim || claim.trusted || !this.ticket) return;
    if ((await this.ctx.store.sentSince('not_believed', claim.agent, this.draft.receivedAt - NOT_BELIEVED_EVERY)) > 0) {
      this.withheld.push(`not_believed to ${claim.agent}: one was sent within the hour`);
      return;
    }
    await this.add('not_believed', claim.agent, this.ctx.config.helpdesk.locale, `mail in the name of agent ${claim.agent} was not believed: ${claim.reason}`, this.ticket, { extra: { notBelieved: claim.reason } });
  }

  /** Suggestions for agents' notices (notifications.suggestToAgents), looked up when the mail is rendered (knowledge/suggest.ts). */
  private agentsSuggestions(subject: string, text: string, reply: boolean): SuggestRequest | null {
    return this.ctx.config.notifications.suggestToAgents ? { audience: 'agents', subject, text: text.slice(0, 4000), reply } : null;
  }

  private async add(template: TemplateName, to: string, locale: string, reason: string, ticket: NotifiedTicket, more: { message?: Quoted | null; thread?: PlannedMail['thread']; relayed?: boolean; extra?: Record<string, unknown> } = {}): Promise<void> {
    if (to === this.sender && !TO_THE_SENDER.has(template)) return;
    if (this.mails.some((m) => m.template === template && m.to === to)) return;
    const refused = await undeliverable(this.ctx.config, this.ctx.store, template, to, this.draft.receivedAt, more.relayed === true);
    if (refused !== undefined) {
      if (refused) this.withheld.push(refused);
      return;
    }
    const message = more.message === undefined ? { from: this.mail.from?.address ?? null, fromName: this.mail.from?.name || null, subject: this.mail.subject, text: this.mail.text } : more.message;
    const data = { ...notificationData(this.ctx.config, ticket, message, this.draft.receivedAt, to), ...more.extra };
    if (AGENT_TEMPLATES.has(template) && ticket.id !== null) data.notes = await this.ctx.store.recentNotes(ticket.id, 3);
    this.mails.push({ template, to, locale, reason, subject: ticket.subject, data, ...(more.thread ? { thread: more.thread } : {}) });
  }
}

/**
 * The language of mail to the customer `address` and where it came from: the contact's
 * recorded language (the first acknowledgement records it; an agent's `#lang` sets it), else
 * `message`'s `Content-Language`, else the language of its text when the detector is sure
 * (pipeline/language.ts), else `helpdesk.locale`.
 */
async function customerLanguage(ctx: StageContext, address: string, message: { subject: string; text: string; headers?: InboundMail['headers'] }): Promise<{ locale: string; source: string }> {
  const stored = await ctx.store.contactLocale(address);
  if (stored) return { locale: stored, source: 'recorded for the contact' };
  const header = message.headers?.find((h) => h.name === 'content-language' || h.name === 'accept-language')?.value ?? '';
  const lang = /^\s*([a-z]{2})/i.exec(header)?.[1]?.toLowerCase();
  if (lang && (LOCALES as readonly string[]).includes(lang)) return { locale: lang, source: 'the message\'s Content-Language' };
  const detected = detectLanguage(`${message.subject}\n${message.text}`, LOCALES);
  if (detected) return { locale: detected, source: 'detected from the text' };
  return { locale: ctx.config.helpdesk.locale, source: 'helpdesk.locale (language not recognised)' };
}


/**
 * Why no mail may go to `to`: '' for an address we never write to (our own, not a mail
 * address), a reason for one whose automatic mail is suppressed after a hard bounce (a
 * person's words relayed are not automatic mail); undefined when it may go.
 */
async function undeliverable(config: Config, store: Pick<StoreReader, 'suppressedUntil'>, template: TemplateName, to: string, at: number, relayed: boolean): Promise<string | undefined> {
  if (isOwnAddress(config, to) || !isMailAddress(to)) return '';
  const suppressed = relayed ? null : await store.suppressedUntil(to, at);
  if (suppressed !== null) return `${template} to ${to}: the address hard-bounced; automatic mail suppressed until ${new Date(suppressed).toISOString()}`;
  return undefined;
}

/** In-Reply-To and References of mail to the customer: their side of the conversation. */
async function customerThreadOf(store: Pick<StoreReader, 'customerThread'>, ticketId: number): Promise<NonNullable<PlannedMail['thread']>> {
  const ids = await store.customerThread(ticketId);
  return { inReplyTo: ids.at(-1) ?? null, references: ids };
}

/**
 * The customer's `status_changed` notice for a change that sends them nothing else (an
 * agent's mail with commands only, `helpdesk tickets set`): when the ticket is resolved (how
 * to reopen), or closed without having been resolved; not for other statuses, nor when
 * `notifications.statusChanged` is off. `ticket` shows the new status.
 */
export async function statusNotice(
  config: Config,
  store: Pick<StoreReader, 'suppressedUntil' | 'customerThread' | 'contactLocale'>,
  ticket: TicketInfo,
  change: { from: string | null; to: string | null },
  at: number,
): Promise<{ mails: PlannedMail[]; withheld: string[] }> {
  const none = { mails: [], withheld: [] };
  const tells = change.to === 'resolved' || (change.to === 'closed' && change.from !== 'resolved');
  if (!tells || !ticket.customer) return none;
  if (!config.notifications.statusChanged) return { mails: [], withheld: [`status_changed to ${ticket.customer}: notifications.statusChanged is off`] };
  if (NO_REPLY.test(ticket.customer)) return none;
  const refused = await undeliverable(config, store, 'status_changed', ticket.customer, at, false);
  if (refused !== undefined) return { mails: [], withheld: refused ? [refused] : [] };
  const to = ticket.customer;
  const locale = (await store.contactLocale(to)) ?? config.helpdesk.locale;
  const data = { ...notificationData(config, ticket, null, at, to), change, rating: ratingInvitation(config, change, locale) };
  const mail: PlannedMail = { template: 'status_changed', to, locale, reason: `the ticket is now ${change.to}`, subject: ticket.subject, data, thread: await customerThreadOf(store, ticket.id) };
  return { mails: [mail], withheld: [] };
}

/**
 * When the responsible agent changes (`#assign`, `helpdesk tickets set REF assignee …`): the new
 * assignee gets `assigned` with the customer's latest message and the ticket's notes, and the
 * ticket's author `assignee_changed`, saying who handles it now (unless
 * `notifications.assigneeChanged` is off). `ticket` shows the ticket after the change; `by` is
 * who made it (an agent assigning the ticket to themselves is not told).
 */
export async function assigneeNotice(
  config: Config,
  store: Pick<StoreReader, 'suppressedUntil' | 'customerThread' | 'contactLocale' | 'lastCustomerMessage' | 'recentNotes'>,
  ticket: TicketInfo,
  change: { from: string | null; to: string | null },
  by: string,
  at: number,
): Promise<{ mails: PlannedMail[]; withheld: string[] }> {
  const mails: PlannedMail[] = [];
  const withheld: string[] = [];
  if (!change.to || change.to === change.from) return { mails, withheld };
  if (change.to !== by) {
    const data = { ...notificationData(config, ticket, await store.lastCustomerMessage(ticket.id), at, change.to), notes: await store.recentNotes(ticket.id, 3) };
    mails.push({ template: 'assigned', to: change.to, locale: config.helpdesk.locale, reason: `assigned to ${change.to} by ${by}`, subject: ticket.subject, data });
  }
  const customer = ticket.customer;
  if (!customer || NO_REPLY.test(customer)) return { mails, withheld };
  if (!config.notifications.assigneeChanged) return { mails, withheld: [`assignee_changed to ${customer}: notifications.assigneeChanged is off`] };
  const refused = await undeliverable(config, store, 'assignee_changed', customer, at, false);
  if (refused !== undefined) return { mails, withheld: refused ? [refused] : [] };
  const data = notificationData(config, ticket, null, at, customer);
  mails.push({ template: 'assignee_changed', to: customer, locale: (await store.contactLocale(customer)) ?? config.helpdesk.locale, reason: `the ticket is now handled by ${change.to}`, subject: ticket.subject, data, thread: await customerThreadOf(store, ticket.id) });
  return { mails, withheld };
}

/** What the resolution notice offers for rating (`replies.ratings`, in the customer's language); null for other changes. */
function ratingInvitation(config: Config, change: { to: string | null } | null, locale: string): { levels: RatingLevel[]; best: number } | null {
  if (change?.to !== 'resolved') return null;
  const levels = ratingLevels(config, locale);
  return { levels, best: levels.at(-1)?.value ?? 0 };
}

/**
 * What agents' notifications say of a ticket the filter was unsure about; null when it was not.
 * `filedIn`: the junk folder the mail server filed the message in (our filter called it ham).
 */
function possibleSpam(ticket: NotifiedTicket, ackHeld: boolean, filedIn?: string): { score: string; ackHeld: boolean; filedIn: string | null } | null {
  if (ticket.spamVerdict !== 'unsure') return null;
  return { score: ticket.spamScore === null ? '?' : ticket.spamScore.toFixed(2), ackHeld, filedIn: filedIn ?? null };
}

/** Who hears about an unassigned ticket's news: the queue's members, else the admins. */
export function queueOrAdmins(config: Config, queue: string | null): string[] {
  // The same members as assignment counts: listed, or agents naming the group (README).
  const members = queue ? groupMembers(config, queue).map((a) => a.email) : [];
  return members.length > 0 ? members : config.agents.filter((a) => a.admin).map((a) => a.email);
}

const EXCERPT = 4000;

/** Templates that go to agents: they also show the ticket's latest internal notes. */
const AGENT_TEMPLATES = new Set<TemplateName>(['assigned', 'customer_replied', 'unassigned']);

/** The message a notification shows or quotes. */
type Quoted = { from: string | null; fromName: string | null; subject: string; text: string };

/** What a template may show, as it is when the mail is decided (a resend shows the same). */
export function notificationData(config: Config, ticket: NotifiedTicket, message: Quoted | null, receivedAt: number, recipient: string): Record<string, unknown> {
  const assignee = ticket.assignee ? findAgent(config, ticket.assignee) : null;
  const text = message ? (message.text.length > EXCERPT ? `${message.text.slice(0, EXCERPT)}…` : message.text) : null;
  return {
    helpdesk: { name: config.helpdesk.name, address: config.helpdesk.address },
    ticket: {
      subject: ticket.subject,
      status: ticket.status,
      priority: ticket.priority,
      severity: ticket.severity,
      category: ticket.category,
      queue: ticket.queue,
      assignee: ticket.assignee,
      assigneeName: assignee?.name ?? null,
      customer: ticket.customer,
      dueAt: ticket.dueAt,
      firstResponseDueAt: ticket.firstResponseAt === null ? ticket.firstResponseDueAt : null,
      pausedAt: ticket.pausedAt,
      organisation: ticket.organisation,
      contract: ticket.contract,
      // At arrival: a contract that was not valid is shown as such, so the agent knows.
      contractValid: ticket.contract !== null && ticket.slaLevel !== null,
      slaTarget: config.sla[ticket.severity as Severity] ?? null,
    },
    message: message ? { from: message.from, fromName: message.fromName, subject: message.subject, text, receivedAt } : null,
    recipient: { address: recipient, name: findAgent(config, recipient)?.name ?? (recipient === message?.from ? message.fromName : null) },
  };
}

/** The ticket with this message's field changes applied (status, priority, severity, category, queue, assignee). */
function afterChanges(info: TicketInfo, changes: FieldChange[]): TicketInfo {
  const next = { ...info };
  for (const c of changes) (next as Record<string, unknown>)[c.field] = c.to;
  return next;
}
