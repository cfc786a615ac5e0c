import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './open';
import { insertRows, prepared } from './prepared';
import { filterConditions } from './search';
import type { TicketFilters } from '../search/query';
import { attachments, contacts, events, messageIds, messages, participants, tickets } from './schema';

export type TicketRow = typeof tickets.$inferSelect;
export type NewTicketRow = Omit<typeof tickets.$inferInsert, 'id' | 'ref'>;

export function ticketByRef(db: Db, ref: string): TicketRow | null {
  return db.select().from(tickets).where(eq(tickets.ref, ref.toUpperCase())).get() ?? null;
}

/** A ticket's ref and the ticket it was merged into (pipeline/merged-tickets.ts). */
export function ticketMergeLink(db: Db, id: number): { id: number; ref: string; mergedInto: number | null } | null {
  return db.select({ id: tickets.id, ref: tickets.ref, mergedInto: tickets.mergedInto }).from(tickets).where(eq(tickets.id, id)).get() ?? null;
}

/** Inserts a ticket and gives it its public ref, `<prefix>-<id>`. */
export function createTicket(db: Db, prefix: string, row: NewTicketRow): TicketRow {
  const id = insertRows(db, 'tickets', tickets, true).id({ ...row, ref: `pending-${process.pid}-${Date.now()}-${Math.random()}` });
  const setRef = prepared(db, 'ticketRef', (d) =>
    d
      .update(tickets)
      .set({ ref: sql`${sql.placeholder('ref')}` })
      .where(eq(tickets.id, sql.placeholder('id')))
      .returning()
      .prepare(),
  );
  return setRef.get({ ref: `${prefix}-${id}`, id }) as TicketRow;
}

/** Statuses of a ticket still being worked on (capacity, least_open). */
export const OPEN_STATUSES = ['new', 'open', 'pending'];

/** Open tickets per assignee, for capacity checks and the least_open strategy. */
export function openTicketCounts(db: Db, assignees: string[]): Map<string, number> {
  const counts = new Map(assignees.map((a) => [a, 0]));
  if (assignees.length === 0) return counts;
  const rows = db
    .select({ assignee: tickets.assignee, n: sql<number>`count(*)` })
    .from(tickets)
    .where(and(inArray(tickets.assignee, assignees), inArray(tickets.status, OPEN_STATUSES)))
    .groupBy(tickets.assignee)
    .all();
  for (const r of rows) if (r.assignee) counts.set(r.assignee, r.n);
  return counts;
}

/** Where a ticket's category came from when it may teach the category predictor. */
export const TRAINING_SOURCES = ['rule', 'staff'];

/** Tickets whose category a rule or a person chose, with their first message, newest first. */
export function categoryExamples(db: Db, limit = 5000): { text: string; category: string }[] {
  return db
    .select({ subject: tickets.subject, category: tickets.category, text: sql<string>`(select ${messages.text} from ${messages} where ${messages.ticketId} = ${tickets.id} order by ${messages.id} limit 1)` })
    .from(tickets)
    .where(and(inArray(tickets.categorySource, TRAINING_SOURCES), sql`${tickets.category} is not null`))
    .orderBy(desc(tickets.id))
    .limit(limit)
    .all()
    .map((r) => ({ text: `${r.subject}\n${r.text ?? ''}`, category: r.category as string }));
}

/** Changes whenever the training set changed: a ticket categorised by a rule, or by staff. */
export function categoryExamplesSignature(db: Db): string {
  const n = db.select({ n: sql<number>`count(*)` }).from(tickets).where(inArray(tickets.categorySource, TRAINING_SOURCES)).get()?.n ?? 0;
  const last = db.select({ id: sql<number>`max(${events.id})` }).from(events).where(eq(events.type, 'category_changed')).get()?.id ?? 0;
  return `${n}:${last}`;
}

/** A change to one ticket column, with the further column updates it implies. */
export interface TicketChange {
  field: string;
  from: string | null;
  to: string | null;
  also: { dueAt?: number; firstResponseDueAt?: number | null; pausedAt?: number | null; resolvedAt?: number | null; closedAt?: number | null; categorySource?: string };
  /** Why the due times change (a new severity, a pause ended), for the `due_changed` event. */
  dueReason?: string;
}

/** Applies a planned field change and records it as an event, in one transaction. */
export function applyChange(
  db: Db,
  ticketId: number,
  change: TicketChange,
  actor: string,
  at: number,
  reason: string | null,
): void {
  db.transaction(
    (tx) => {
      const also = Object.fromEntries(Object.entries(change.also).filter(([, v]) => v !== undefined));
      tx.update(tickets)
        .set({ [change.field]: change.to, ...also, updatedAt: at })
        .where(eq(tickets.id, ticketId))
        .run();
      for (const e of changeEvents(ticketId, change, actor, at, reason)) addEvent(tx, e);
    },
    { behavior: 'immediate' },
  );
}

/** The history a change writes: the field's change, and a `due_changed` per SLA clock it moved. */
export function changeEvents(ticketId: number, change: TicketChange, actor: string, at: number, reason: string | null): EventInput[] {
  const events: EventInput[] = [{ ticketId, at, actor, type: `${change.field}_changed`, from: change.from, to: change.to, reason }];
  const why = change.dueReason ?? `${change.field} changed to ${change.to}`;
  if (change.also.dueAt !== undefined) events.push({ ticketId, at, actor: 'system', type: 'due_changed', from: 'resolution', to: new Date(change.also.dueAt).toISOString(), reason: why });
  if (typeof change.also.firstResponseDueAt === 'number') events.push({ ticketId, at, actor: 'system', type: 'due_changed', from: 'first_response', to: new Date(change.also.firstResponseDueAt).toISOString(), reason: why });
  return events;
}

export function touchTicket(db: Db, ticketId: number, at: number): void {
  prepared(db, 'touchTicket', (d) =>
    d
      .update(tickets)
      .set({ updatedAt: sql`${sql.placeholder('at')}` })
      .where(eq(tickets.id, sql.placeholder('ticketId')))
      .prepare(),
  ).run({ ticketId, at });
}

/** The contact for an address, created on first sight; a known name is filled in later. */
export function upsertContact(db: Db, address: string, name: string | null, at: number): number {
  const query = prepared(db, 'upsertContact', (d) =>
    d
      .insert(contacts)
      .values({ email: sql.placeholder('email'), name: sql.placeholder('name'), createdAt: sql.placeholder('at') })
      .onConflictDoUpdate({ target: contacts.email, set: { name: sql`coalesce(${contacts.name}, excluded.name)` } })
      .returning({ id: contacts.id })
      .prepare(),
  );
  const found = prepared(db, 'findContact', (d) =>
    d
      .select({ id: contacts.id, name: contacts.name })
      .from(contacts)
      .where(eq(contacts.email, sql.placeholder('email')))
      .prepare(),
  );
  const email = address.toLowerCase();
  // Read first, as on PostgreSQL (store/pg/writes.ts): a contact that needs no change is not
  // written, so neither store spends an id on it and both number their contacts alike.
  const known = found.get({ email }) as { id: number; name: string | null } | undefined;
  if (known && (known.name !== null || !name)) return known.id;
  return (query.get({ email, name: name || null, at }) as { id: number }).id;
}

export function isParticipant(db: Db, ticketId: number, address: string): boolean {
  const query = prepared(db, 'isParticipant', (d) =>
    d
      .select({ one: sql<number>`1` })
      .from(participants)
      .innerJoin(contacts, eq(contacts.id, participants.contactId))
      .where(and(eq(participants.ticketId, sql.placeholder('ticketId')), eq(contacts.email, sql.placeholder('email'))))
      .prepare(),
  );
  return query.get({ ticketId, email: address.toLowerCase() }) !== undefined;
}

/** Adds a participant; returns false when they already were one. */
export function addParticipant(db: Db, ticketId: number, contactId: number, role: string, at: number): boolean {
  const query = prepared(db, 'addParticipant', (d) =>
    d
      .insert(participants)
      .values({ ticketId: sql.placeholder('ticketId'), contactId: sql.placeholder('contactId'), role: sql.placeholder('role'), addedAt: sql.placeholder('at') })
      .onConflictDoNothing()
      .prepare(),
  );
  return query.run({ ticketId, contactId, role, at }).changes > 0;
}

export interface EventInput {
  ticketId: number;
  at: number;
  actor: string;
  type: string;
  from?: string | null;
  to?: string | null;
  reason?: string | null;
}

export function addEvent(db: Db, e: EventInput): void {
  prepared(db, 'addEvent', (d) =>
    d
      .insert(events)
      .values({ ticketId: sql.placeholder('ticketId'), at: sql.placeholder('at'), actor: sql.placeholder('actor'), type: sql.placeholder('type'), fromValue: sql.placeholder('from'), toValue: sql.placeholder('to'), reason: sql.placeholder('reason') })
      .prepare(),
  ).run({ ticketId: e.ticketId, at: e.at, actor: e.actor, type: e.type, from: e.from ?? null, to: e.to ?? null, reason: e.reason ?? null });
}

/** What every view of a ticket shows: the CLI's (TicketSummary) and the pipeline's (TicketInfo). */
export interface TicketCore {
  ref: string;
  subject: string;
  status: string;
  priority: string;
  severity: string;
  category: string | null;
  queue: string | null;
  assignee: string | null;
  /** The customer's address. */
  customer: string | null;
  /** The spam filter's verdict (ham, unsure, spam) on the message that started the ticket, as staff left it; null: none recorded. */
  spamVerdict: string | null;
}

/** `helpdesk tickets list` row (the CLI contract of the foundation issue): times as ISO strings. */
export interface TicketSummary extends TicketCore {
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  dueAt: string | null;
  firstResponseDueAt: string | null;
  /** Since when the SLA clocks stand still (pending), or null. */
  pausedAt: string | null;
  organisation: string | null;
  contract: string | null;
  /** The contract level whose SLA targets the ticket runs on (null: the desk's). */
  slaLevel: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function listTickets(db: Db, options: { status?: string; ref?: string; limit?: number; filters?: TicketFilters; ids?: number[] } = {}): TicketSummary[] {
  const rows = db
    .select({
      t: tickets,
      customer: contacts.email,
      messageCount: sql<number>`(select count(*) from ${messages} where ${messages.ticketId} = ${tickets.id})`,
    })
    .from(tickets)
    .leftJoin(contacts, eq(contacts.id, tickets.customerId))
    .where(and(options.status ? eq(tickets.status, options.status) : undefined, options.ref ? eq(tickets.ref, options.ref) : undefined, options.ids ? inArray(tickets.id, options.ids) : undefined, ...(options.filters ? filterConditions(options.filters) : [])))
    .orderBy(desc(tickets.id))
    .limit(options.limit ?? -1)
    .all();
  return rows.map(ticketSummary);
}

/** A `tickets list` row from a ticket row, its customer's address and its number of messages (either store). */
export function ticketSummary({ t, customer, messageCount }: { t: TicketRow; customer: string | null; messageCount: number }): TicketSummary {
  return {
    ref: t.ref,
    subject: t.subject,
    status: t.status,
    priority: t.priority,
    severity: t.severity,
    category: t.category,
    queue: t.queue,
    assignee: t.assignee,
    customer,
    messageCount,
    createdAt: iso(t.createdAt) as string,
    updatedAt: iso(t.updatedAt) as string,
    dueAt: iso(t.dueAt),
    firstResponseDueAt: iso(t.firstResponseDueAt),
    pausedAt: iso(t.pausedAt),
    organisation: t.organisation,
    contract: t.contract,
    slaLevel: t.slaLevel,
    spamVerdict: t.spamVerdict,
  };
}

/** A ticket's people in the order they joined: the customer, CC'd participants, agents. */
export function ticketParticipants(db: Db, ticketId: number): { email: string; name: string | null; role: string }[] {
  return db
    .select({ email: contacts.email, name: contacts.name, role: participants.role })
    .from(participants)
    .innerJoin(contacts, eq(contacts.id, participants.contactId))
    .where(eq(participants.ticketId, ticketId))
    .orderBy(asc(participants.addedAt), asc(contacts.id))
    .all();
}

/** `helpdesk tickets show` document: the ticket with participants, messages and events. */
export function showTicket(db: Db, ref: string): TicketDocument | null {
  const row = ticketByRef(db, ref);
  if (!row) return null;
  const [summary] = listTickets(db, { ref: row.ref });
  const atts = db
    .select({ a: attachments })
    .from(attachments)
    .innerJoin(messages, eq(messages.id, attachments.messageId))
    .where(eq(messages.ticketId, row.id))
    .orderBy(asc(attachments.id))
    .all();
  return ticketDocument({
    row,
    summary,
    people: ticketParticipants(db, row.id),
    messages: db.select().from(messages).where(eq(messages.ticketId, row.id)).orderBy(asc(messages.id)).all(),
    attachments: atts.map((x) => x.a),
    events: db.select().from(events).where(eq(events.ticketId, row.id)).orderBy(asc(events.id)).all(),
  });
}

/** What `tickets show` is made of, read from either store, each list in id order. */
export interface TicketParts {
  row: TicketRow;
  summary: TicketSummary;
  people: { email: string; name: string | null; role: string }[];
  messages: Array<typeof messages.$inferSelect>;
  attachments: Array<typeof attachments.$inferSelect>;
  events: Array<typeof events.$inferSelect>;
}

export type TicketDocument = ReturnType<typeof ticketDocument>;

/** The `tickets show` document from its parts (either store). */
export function ticketDocument({ row, summary, people, messages: msgs, attachments: atts, events: evs }: TicketParts) {
  return {
    ...summary,
    firstResponseAt: iso(row.firstResponseAt),
    resolvedAt: iso(row.resolvedAt),
    closedAt: iso(row.closedAt),
    channel: row.channel,
    spamVerdict: row.spamVerdict,
    spamScore: row.spamScore,
    rating: row.rating === null ? null : { score: row.rating, comment: row.ratingComment, at: iso(row.ratedAt) },
    participants: people,
    messages: msgs.map((m) => ({
      direction: m.direction,
      kind: m.kind,
      from: m.fromAddress,
      fromName: m.fromName,
      to: m.to.map((a) => a.address),
      cc: m.cc.map((a) => a.address),
      subject: m.subject,
      date: iso(m.date),
      messageId: m.messageId,
      inReplyTo: m.inReplyTo,
      threadedBy: m.threadedBy,
      text: m.text,
      rawPath: m.rawPath,
      attachments: atts
        .filter((a) => a.messageId === m.id)
        .map((a) => ({
          filename: a.filename,
          contentType: a.contentType,
          size: a.size,
          sha256: a.sha256,
          inline: a.inline,
          contentId: a.contentId,
          path: a.path,
          omittedReason: a.omittedReason,
        })),
    })),
    events: evs.map(eventEntry),
  };
}

/** An event as `tickets show` lists it. */
export function eventEntry(e: typeof events.$inferSelect) {
  return { at: iso(e.at), actor: e.actor, type: e.type, from: e.fromValue, to: e.toValue, reason: e.reason };
}

/** What notifications need to know about a ticket: its fields and its customer's address. */
export function ticketInfo(db: Db, id: number) {
  const query = prepared(db, 'ticketInfo', (d) =>
    d
      .select({
        id: tickets.id,
        ref: tickets.ref,
        subject: tickets.subject,
        status: tickets.status,
        priority: tickets.priority,
        severity: tickets.severity,
        category: tickets.category,
        queue: tickets.queue,
        assignee: tickets.assignee,
        customer: contacts.email,
        dueAt: tickets.dueAt,
        firstResponseDueAt: tickets.firstResponseDueAt,
        pausedAt: tickets.pausedAt,
        organisation: tickets.organisation,
        contract: tickets.contract,
        slaLevel: tickets.slaLevel,
        createdAt: tickets.createdAt,
        closedAt: tickets.closedAt,
        firstResponseAt: tickets.firstResponseAt,
        spamVerdict: tickets.spamVerdict,
        spamScore: tickets.spamScore,
      })
      .from(tickets)
      .leftJoin(contacts, eq(contacts.id, tickets.customerId))
      .where(eq(tickets.id, sql.placeholder('id')))
      .prepare(),
  );
  return query.get({ id }) ?? null;
}

export function hasEventSince(db: Db, ticketId: number, type: string, since: number): boolean {
  return db.select({ id: events.id }).from(events).where(and(eq(events.ticketId, ticketId), eq(events.type, type), sql`${events.at} > ${since}`)).limit(1).get() !== undefined;
}

export function contactLocale(db: Db, address: string): string | null {
  const query = prepared(db, 'contactLocale', (d) => d.select({ locale: contacts.locale }).from(contacts).where(eq(contacts.email, sql.placeholder('email'))).prepare());
  return query.get({ email: address.toLowerCase() })?.locale ?? null;
}

export function setFirstResponse(db: Db, ticketId: number, at: number): void {
  db.update(tickets).set({ firstResponseAt: at }).where(and(eq(tickets.id, ticketId), sql`${tickets.firstResponseAt} is null`)).run();
}

export function setRating(db: Db, ticketId: number, score: number, comment: string | null, at: number): void {
  db.update(tickets).set({ rating: score, ratingComment: comment, ratedAt: at }).where(eq(tickets.id, ticketId)).run();
}

/**
 * `#merge`: the ticket's messages, Message-IDs and people join `into`; the ticket itself is
 * closed and remembers where it went. Runs inside the caller's transaction.
 */
export function mergeTicket(db: Db, fromId: number, intoId: number, at: number): void {
  db.update(messages).set({ ticketId: intoId }).where(eq(messages.ticketId, fromId)).run();
  db.update(messageIds).set({ ticketId: intoId }).where(eq(messageIds.ticketId, fromId)).run();
  db.run(sql`insert or ignore into participants (ticket_id, contact_id, role, added_at) select ${intoId}, contact_id, role, added_at from participants where ticket_id = ${fromId}`);
  db.update(tickets).set({ status: 'closed', closedAt: at, mergedInto: intoId, updatedAt: at }).where(eq(tickets.id, fromId)).run();
  db.update(tickets).set({ updatedAt: at }).where(eq(tickets.id, intoId)).run();
}

/** The ticket's spam verdict as staff corrected it (the score the filter gave stays). */
export function setSpamVerdict(db: Db, ticketId: number, verdict: string): void {
  db.update(tickets).set({ spamVerdict: verdict }).where(eq(tickets.id, ticketId)).run();
}

/** Records a contact's language unless one is recorded already (`replace`: whatever was recorded, as `#lang` does). */
export function setContactLocale(db: Db, address: string, locale: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) {
    db.update(contacts).set({ locale }).where(eq(contacts.email, address.toLowerCase())).run();
    return;
  }
  prepared(db, 'setContactLocale', (d) =>
    d
      .update(contacts)
      .set({ locale: sql`${sql.placeholder('locale')}` })
      .where(and(eq(contacts.email, sql.placeholder('email')), sql`${contacts.locale} is null`))
      .prepare(),
  ).run({ email: address.toLowerCase(), locale });
}

export type SlaClock = 'first_response' | 'resolution';

/**
 * Tickets whose clock has passed its warning point (`warnAt` of the time from arrival to the
 * due time) and still runs: first response — not answered yet; resolution — not resolved,
 * closed or spam. A paused clock (pending) does not run.
 */
export function slaCandidates(db: Db, now: number, warnAt: number, clock: SlaClock): TicketRow[] {
  const due = clock === 'first_response' ? tickets.firstResponseDueAt : tickets.dueAt;
  return db
    .select()
    .from(tickets)
    .where(
      and(
        inArray(tickets.status, ['new', 'open', 'pending']),
        sql`${tickets.pausedAt} is null`,
        clock === 'first_response' ? sql`${tickets.firstResponseAt} is null` : undefined,
        sql`${due} is not null`,
        sql`${tickets.createdAt} + ${warnAt} * (${due} - ${tickets.createdAt}) <= ${now}`,
      ),
    )
    .orderBy(asc(due), asc(tickets.id))
    .all();
}

/** Whether the ticket already has an event of this type with this value (once-only notifications). */
export function hasEvent(db: Db, ticketId: number, type: string, to: string): boolean {
  return db.select({ id: events.id }).from(events).where(and(eq(events.ticketId, ticketId), eq(events.type, type), eq(events.toValue, to))).limit(1).get() !== undefined;
}

/** Tickets resolved before `before` (auto-close). */
export function resolvedBefore(db: Db, before: number): TicketRow[] {
  return db.select().from(tickets).where(and(eq(tickets.status, 'resolved'), sql`${tickets.resolvedAt} < ${before}`)).all();
}

export interface DigestQueue {
  queue: string | null;
  open: number;
  overdue: number;
  unassigned: number;
  created: number;
}

/** The daily digest's figures per queue: open (new, open, pending), overdue, unassigned, created since `since`. */
export function digestFigures(db: Db, now: number, since: number): DigestQueue[] {
  return db
    .select({
      queue: tickets.queue,
      open: sql<number>`sum(case when ${tickets.status} in ('new','open','pending') then 1 else 0 end)`,
      // Past the resolution due time and not paused (pending).
      overdue: sql<number>`sum(case when ${tickets.status} in ('new','open','pending') and ${tickets.pausedAt} is null and ${tickets.dueAt} < ${now} then 1 else 0 end)`,
      unassigned: sql<number>`sum(case when ${tickets.status} in ('new','open','pending') and ${tickets.assignee} is null then 1 else 0 end)`,
      created: sql<number>`sum(case when ${tickets.createdAt} >= ${since} and ${tickets.status} <> 'spam' then 1 else 0 end)`,
    })
    .from(tickets)
    .groupBy(tickets.queue)
    .orderBy(asc(tickets.queue))
    .all();
}
