import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { fromCustomerSide } from '../customer-side';
import { PROCESSED } from '../inbound';
import { SHARED_MESSAGE_ID } from '../messages';
import { DOTLESS_DOMAINS, dotlessLocal, pgDotlessLocal } from '../dotless-mailbox';
import { firstByMessageId, plusRange } from '../outbox';
import { OPEN_STATUSES, TRAINING_SOURCES, type DigestQueue, type SlaClock } from '../tickets';
import type { TokenCounts } from '../../spam/model';
import { anyOfPlaceholder, pgConnectionOf, pgPrepared } from './prepared';
import * as s from './schema';

/**
 * The pipeline's read queries on the PostgreSQL store: each answers what its SQLite namesake
 * in src/store answers (pipeline-reader.test.ts runs the stages on a desk and on its copy in
 * PostgreSQL and compares every decision). `db` is the connection of the batch the message
 * joins, so the batch's own rows are seen, as on SQLite.
 */
export type PgDb = NodePgDatabase<typeof s>;

/**
 * `column = any($1)`: a whole list as one array parameter. drizzle's inArray makes each value
 * its own parameter and inspects each several times while building the query: for a message's
 * few hundred spam tokens that cost 20 ms per message, more than all its queries took.
 */
const anyOf = (column: AnyPgColumn, list: readonly string[]) => sql`${column} = any(${sql.param([...list])}::text[])`;

const one = async <T>(rows: Promise<T[]>): Promise<T | null> => (await rows)[0] ?? null;
const count = sql<number>`count(*)`.mapWith(Number);

export const processedRaw = (db: PgDb, sha256: string) =>
  one(
    pgPrepared(db, 'processed_raw', (d, name) =>
      d
        .select({ ticketRef: s.tickets.ref })
        .from(s.inbound)
        .leftJoin(s.tickets, eq(s.tickets.id, s.inbound.ticketId))
        .where(and(eq(s.inbound.rawSha256, sql.placeholder('sha256')), inArray(s.inbound.outcome, PROCESSED)))
        .limit(1)
        .prepare(name),
    ).execute({ sha256 }),
  );

/** As store/inbound.ts ticketOfRaw: the ticket these raw bytes made or joined. */
export const ticketOfRaw = (db: PgDb, sha256: string) =>
  one(
    db
      .select({ id: s.tickets.id, status: s.tickets.status, spamVerdict: s.tickets.spamVerdict, outcome: s.inbound.outcome, source: s.inbound.source, position: s.inbound.position })
      .from(s.inbound)
      .innerJoin(s.tickets, eq(s.tickets.id, s.inbound.ticketId))
      .where(and(eq(s.inbound.rawSha256, sha256), inArray(s.inbound.outcome, PROCESSED)))
      .orderBy(asc(s.inbound.id))
      .limit(1),
  );

/** As store/inbound.ts seenBeforeAt: an earlier row of these bytes at this source position (the latest is the copy handled now). */
export async function seenBeforeAt(db: PgDb, sha256: string, source: string, position: string | null): Promise<boolean> {
  const rows = await db
    .select({ id: s.inbound.id })
    .from(s.inbound)
    .where(and(eq(s.inbound.rawSha256, sha256), eq(s.inbound.source, source), position === null ? isNull(s.inbound.position) : eq(s.inbound.position, position)))
    .orderBy(asc(s.inbound.id))
    .limit(2);
  return rows.length > 1;
}

export const inboundMessage = (db: PgDb, messageId: string, from: string | null) =>
  one(
    pgPrepared(db, from === null ? 'inbound_message_anonymous' : 'inbound_message', (d, name) =>
      d
        .select({ ticketRef: s.tickets.ref })
        .from(s.messages)
        .innerJoin(s.tickets, eq(s.tickets.id, s.messages.ticketId))
        .where(and(eq(s.messages.messageId, sql.placeholder('messageId')), eq(s.messages.direction, 'in'), from === null ? isNull(s.messages.fromAddress) : eq(s.messages.fromAddress, sql.placeholder('from'))))
        .limit(1)
        .prepare(name),
    ).execute({ messageId, from }),
  );

export async function ticketsByMessageIds(db: PgDb, ids: string[]): Promise<Map<string, { id: number; ref: string }>> {
  const found = new Map<string, { id: number; ref: string }>();
  if (ids.length === 0) return found;
  const rows = await pgPrepared(db, 'tickets_by_message_ids', (d, name) =>
    d
      .select({ messageId: s.messageIds.messageId, id: s.tickets.id, ref: s.tickets.ref })
      .from(s.messageIds)
      .innerJoin(s.tickets, eq(s.tickets.id, s.messageIds.ticketId))
      .where(and(anyOfPlaceholder(s.messageIds.messageId, 'ids'), sql`not exists (select 1 from ${s.keyValue} where ${s.keyValue.key} = ${SHARED_MESSAGE_ID} || ${s.messageIds.messageId})`))
      .prepare(name),
  ).execute({ ids });
  for (const r of rows) found.set(r.messageId, { id: r.id, ref: r.ref });
  return found;
}

export const ticketByRef = (db: PgDb, ref: string) => one(db.select({ id: s.tickets.id, ref: s.tickets.ref, mergedInto: s.tickets.mergedInto }).from(s.tickets).where(eq(s.tickets.ref, ref.toUpperCase())));

/** A ticket's ref and the ticket it was merged into (pipeline/merged-tickets.ts). */
export const ticketMergeLink = (db: PgDb, id: number) => one(db.select({ id: s.tickets.id, ref: s.tickets.ref, mergedInto: s.tickets.mergedInto }).from(s.tickets).where(eq(s.tickets.id, id)));

export async function isParticipant(db: PgDb, ticketId: number, address: string): Promise<boolean> {
  const row = await one(
    db
      .select({ one: sql<number>`1` })
      .from(s.participants)
      .innerJoin(s.contacts, eq(s.contacts.id, s.participants.contactId))
      .where(and(eq(s.participants.ticketId, ticketId), eq(s.contacts.email, address.toLowerCase())))
      .limit(1),
  );
  return row !== null;
}

export async function openTicketCounts(db: PgDb, assignees: string[]): Promise<Map<string, number>> {
  const counts = new Map(assignees.map((a) => [a, 0]));
  if (assignees.length === 0) return counts;
  const rows = await db
    .select({ assignee: s.tickets.assignee, n: count })
    .from(s.tickets)
    .where(and(anyOf(s.tickets.assignee, assignees), inArray(s.tickets.status, OPEN_STATUSES)))
    .groupBy(s.tickets.assignee);
  for (const r of rows) if (r.assignee) counts.set(r.assignee, r.n);
  return counts;
}

/**
 * Values that never change once stored, read once per connection: the Message-ID secret
 * (migration 0001 sets it; nothing writes it again). Every message read it about twice.
 */
const WRITTEN_ONCE = new Set(['message_id_secret']);
const writtenOnce = new WeakMap<object, Map<string, string>>();

export async function getValue(db: PgDb, key: string): Promise<string | null> {
  const known = WRITTEN_ONCE.has(key) ? writtenOnce.get(pgConnectionOf(db)) : undefined;
  const cached = known?.get(key);
  if (cached !== undefined) return cached;
  const value = (await one(pgPrepared(db, 'get_value', (d, name) => d.select({ value: s.keyValue.value }).from(s.keyValue).where(eq(s.keyValue.key, sql.placeholder('key'))).prepare(name)).execute({ key })))?.value ?? null;
  // Not stored yet (a database the migrations have not reached): read again next time.
  if (value !== null && WRITTEN_ONCE.has(key)) writtenOnce.set(pgConnectionOf(db), (known ?? new Map()).set(key, value));
  return value;
}

/** The spam model's counts of these tokens. Not cached yet (SQLite's store keeps the model in memory per generation). */
export async function spamCounts(db: PgDb, tokens: string[]): Promise<Map<string, TokenCounts>> {
  const out = new Map<string, TokenCounts>();
  if (tokens.length === 0) return out;
  const rows = await pgPrepared(db, 'spam_counts', (d, name) => d.select().from(s.spamTokens).where(anyOfPlaceholder(s.spamTokens.token, 'tokens')).prepare(name)).execute({ tokens });
  for (const r of rows) out.set(r.token, { spam: r.spamCount, ham: r.hamCount });
  return out;
}

export async function spamTotals(db: PgDb): Promise<{ spam: number; ham: number }> {
  const t = { spam: 0, ham: 0 };
  const rows = await pgPrepared(db, 'spam_totals', (d, name) => d.select().from(s.keyValue).where(inArray(s.keyValue.key, ['spam:learnt:spam', 'spam:learnt:ham'])).prepare(name)).execute();
  for (const r of rows) t[r.key === 'spam:learnt:spam' ? 'spam' : 'ham'] = Number(r.value);
  return t;
}

export async function outboxByMessageIds(db: PgDb, ids: string[]) {
  if (ids.length === 0) return null;
  const rows = await db
    .select({ id: s.outbox.id, recipients: s.outbox.recipients, ticketId: s.outbox.ticketId, ref: s.tickets.ref, messageId: s.outbox.messageId, template: s.outbox.template, data: s.outbox.data, bounceStatus: s.outbox.bounceStatus })
    .from(s.outbox)
    .leftJoin(s.tickets, eq(s.tickets.id, s.outbox.ticketId))
    .where(anyOf(s.outbox.messageId, ids.slice(0, 500)));
  return firstByMessageId(ids, rows);
}

export const ticketInfo = (db: PgDb, id: number) =>
  one(
    pgPrepared(db, 'ticket_info', (d, name) =>
      d
        .select({
          id: s.tickets.id,
          ref: s.tickets.ref,
          subject: s.tickets.subject,
          status: s.tickets.status,
          priority: s.tickets.priority,
          severity: s.tickets.severity,
          category: s.tickets.category,
          queue: s.tickets.queue,
          assignee: s.tickets.assignee,
          customer: s.contacts.email,
          dueAt: s.tickets.dueAt,
          firstResponseDueAt: s.tickets.firstResponseDueAt,
          pausedAt: s.tickets.pausedAt,
          organisation: s.tickets.organisation,
          contract: s.tickets.contract,
          slaLevel: s.tickets.slaLevel,
          createdAt: s.tickets.createdAt,
          closedAt: s.tickets.closedAt,
          firstResponseAt: s.tickets.firstResponseAt,
          spamVerdict: s.tickets.spamVerdict,
          spamScore: s.tickets.spamScore,
        })
        .from(s.tickets)
        .leftJoin(s.contacts, eq(s.contacts.id, s.tickets.customerId))
        .where(eq(s.tickets.id, sql.placeholder('id')))
        .prepare(name),
    ).execute({ id }),
  );

/** As store/outbox.ts sentToSince: a mailbox's plus-addressed forms (and a Gmail address's dotted ones) share its budget. */
export async function sentToSince(db: PgDb, template: string, address: string, since: number): Promise<number> {
  const recipient = sql`(${s.outbox.recipients} ->> 0)`;
  const inWindow = async (which: ReturnType<typeof sql>) => (await one(db.select({ n: count }).from(s.outbox).where(and(eq(s.outbox.template, template), which, gt(s.outbox.createdAt, since)))))?.n ?? 0;
  const local = dotlessLocal(address);
  if (local !== null) return inWindow(sql`${pgDotlessLocal(recipient)} = ${local} and lower(split_part(${recipient}, '@', 2)) = any(${sql.param(DOTLESS_DOMAINS)}::text[])`);
  const range = plusRange(address);
  if (!range) return inWindow(sql`${recipient} = ${address}`);
  return (await inWindow(sql`${recipient} = ${range.base}`)) + (await inWindow(sql`${recipient} >= ${range.plusFrom} and ${recipient} < ${range.plusTo} and right(${recipient}, length(${range.domain})) = ${range.domain}`));
}

export const ticketAcknowledged = async (db: PgDb, ticketId: number) =>
  (await one(db.select({ id: s.outbox.id }).from(s.outbox).where(and(eq(s.outbox.ticketId, ticketId), eq(s.outbox.template, 'ack'))).limit(1))) !== null;

export const messagesFromSince = async (db: PgDb, ticketId: number, address: string, since: number) =>
  (await one(db.select({ n: count }).from(s.messages).where(and(eq(s.messages.ticketId, ticketId), eq(s.messages.direction, 'in'), eq(s.messages.fromAddress, address), gt(s.messages.createdAt, since)))))?.n ?? 0;

export const hasEventSince = async (db: PgDb, ticketId: number, type: string, since: number) =>
  (await one(db.select({ id: s.events.id }).from(s.events).where(and(eq(s.events.ticketId, ticketId), eq(s.events.type, type), gt(s.events.at, since))).limit(1))) !== null;

export const hasEvent = async (db: PgDb, ticketId: number, type: string, to: string) =>
  (await one(db.select({ id: s.events.id }).from(s.events).where(and(eq(s.events.ticketId, ticketId), eq(s.events.type, type), eq(s.events.toValue, to))).limit(1))) !== null;

export const suppressedUntil = async (db: PgDb, address: string, now: number) =>
  (await one(db.select({ until: s.suppressions.until }).from(s.suppressions).where(and(eq(s.suppressions.address, address), gt(s.suppressions.until, now)))))?.until ?? null;

export const contactLocale = async (db: PgDb, address: string) =>
  (await one(pgPrepared(db, 'contact_locale', (d, name) => d.select({ locale: s.contacts.locale }).from(s.contacts).where(eq(s.contacts.email, sql.placeholder('email'))).prepare(name)).execute({ email: address.toLowerCase() })))?.locale ?? null;

export const ticketParticipants = (db: PgDb, ticketId: number) =>
  pgPrepared(db, 'ticket_participants', (d, name) =>
    d
      .select({ email: s.contacts.email, name: s.contacts.name, role: s.participants.role })
      .from(s.participants)
      .innerJoin(s.contacts, eq(s.contacts.id, s.participants.contactId))
      .where(eq(s.participants.ticketId, sql.placeholder('ticketId')))
      .orderBy(asc(s.participants.addedAt), asc(s.contacts.id))
      .prepare(name),
  ).execute({ ticketId });

export async function customerThread(db: PgDb, ticketId: number, customer: string | null): Promise<string[]> {
  const inbound = await db.select({ id: s.messages.messageId, at: s.messages.createdAt }).from(s.messages).where(fromCustomerSide(s.messages, ticketId)).orderBy(asc(s.messages.id));
  const sent = customer
    ? await db
        .select({ id: s.outbox.messageId, at: s.outbox.createdAt })
        .from(s.outbox)
        .where(and(eq(s.outbox.ticketId, ticketId), inArray(s.outbox.status, ['pending', 'sent']), sql`${s.outbox.recipients} @> ${JSON.stringify([customer])}::jsonb`))
        .orderBy(asc(s.outbox.id))
    : [];
  return [...inbound, ...sent].sort((a, b) => a.at - b.at).map((r) => r.id);
}

export const lastCustomerMessage = (db: PgDb, ticketId: number) =>
  one(
    db
      .select({ from: s.messages.fromAddress, fromName: s.messages.fromName, subject: s.messages.subject, text: s.messages.text, messageId: s.messages.messageId, references: s.messages.references })
      .from(s.messages)
      .where(fromCustomerSide(s.messages, ticketId))
      .orderBy(desc(s.messages.id))
      .limit(1),
  );

export const recentNotes = (db: PgDb, ticketId: number, limit: number) =>
  db
    .select({ from: s.messages.fromAddress, text: s.messages.text, at: s.messages.createdAt })
    .from(s.messages)
    .where(and(eq(s.messages.ticketId, ticketId), eq(s.messages.kind, 'internal_note')))
    .orderBy(desc(s.messages.id))
    .limit(limit);

/** The raw mail of a ticket's first inbound message (what a staff correction teaches the spam filter). */
export const firstInboundRawPath = async (db: PgDb, ticketId: number) =>
  (await one(db.select({ rawPath: s.messages.rawPath }).from(s.messages).where(and(eq(s.messages.ticketId, ticketId), eq(s.messages.direction, 'in'), isNotNull(s.messages.rawPath))).orderBy(asc(s.messages.id)).limit(1)))?.rawPath ?? null;

/** Tickets resolved before `before` (auto-close). */
export const resolvedBefore = (db: PgDb, before: number) =>
  db
    .select()
    .from(s.tickets)
    .where(and(eq(s.tickets.status, 'resolved'), sql`${s.tickets.resolvedAt} < ${before}`));

/** As store/tickets.ts slaCandidates: open tickets past `warnAt` of a clock's time, the earliest due first. */
export function slaCandidates(db: PgDb, now: number, warnAt: number, clock: SlaClock) {
  const due = clock === 'first_response' ? s.tickets.firstResponseDueAt : s.tickets.dueAt;
  return db
    .select()
    .from(s.tickets)
    .where(
      and(
        inArray(s.tickets.status, OPEN_STATUSES),
        isNull(s.tickets.pausedAt),
        clock === 'first_response' ? isNull(s.tickets.firstResponseAt) : undefined,
        isNotNull(due),
        sql`${s.tickets.createdAt} + ${warnAt}::double precision * (${due} - ${s.tickets.createdAt}) <= ${now}`,
      ),
    )
    .orderBy(asc(due), asc(s.tickets.id));
}

/** As store/tickets.ts digestFigures: per queue, open, overdue, unassigned, and created since `since`. */
export function digestFigures(db: PgDb, now: number, since: number): Promise<DigestQueue[]> {
  const open = sql`${s.tickets.status} in ('new', 'open', 'pending')`;
  const sum = (when: ReturnType<typeof sql>) => sql<number>`sum(case when ${when} then 1 else 0 end)`.mapWith(Number);
  return db
    .select({
      queue: s.tickets.queue,
      open: sum(open),
      overdue: sum(sql`${open} and ${s.tickets.pausedAt} is null and ${s.tickets.dueAt} < ${now}`),
      unassigned: sum(sql`${open} and ${s.tickets.assignee} is null`),
      created: sum(sql`${s.tickets.createdAt} >= ${since} and ${s.tickets.status} <> 'spam'`),
    })
    .from(s.tickets)
    .groupBy(s.tickets.queue)
    // SQLite puts the null queue first, and compares text by bytes.
    .orderBy(sql`${s.tickets.queue} collate "C" asc nulls first`);
}

/** As store/tickets.ts categoryExamples: the newest tickets a rule or staff categorised, subject and first message. */
export async function categoryExamples(db: PgDb, limit = 5000): Promise<{ text: string; category: string }[]> {
  const first = sql<string | null>`(select ${s.messages.text} from ${s.messages} where ${s.messages.ticketId} = ${s.tickets.id} order by ${s.messages.id} limit 1)`;
  const rows = await db
    .select({ subject: s.tickets.subject, category: s.tickets.category, text: first })
    .from(s.tickets)
    .where(and(inArray(s.tickets.categorySource, TRAINING_SOURCES), isNotNull(s.tickets.category)))
    .orderBy(desc(s.tickets.id))
    .limit(limit);
  return rows.map((r) => ({ text: `${r.subject}\n${r.text ?? ''}`, category: r.category as string }));
}

/** As store/tickets.ts categoryExamplesSignature: changes whenever the training set changed. */
export async function categoryExamplesSignature(db: PgDb): Promise<string> {
  const n = (await one(db.select({ n: count }).from(s.tickets).where(inArray(s.tickets.categorySource, TRAINING_SOURCES))))?.n ?? 0;
  const last = (await one(db.select({ id: sql<number | null>`max(${s.events.id})`.mapWith(Number) }).from(s.events).where(eq(s.events.type, 'category_changed'))))?.id ?? 0;
  return `${n}:${last}`;
}

/** What the category predictor is trained from (pipeline/category-model.ts), on `db`. */
export const categorySource = (db: PgDb) => ({ signature: () => categoryExamplesSignature(db), examples: () => categoryExamples(db) });
