import { and, asc, desc, eq, gt, inArray, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from './open';
import { inJsonList, insertRows, prepared } from './prepared';
import { DOTLESS_DOMAINS, dotlessLocal, SQLITE_DOTLESS_LOCAL } from './dotless-mailbox';
import { outbox, suppressions, tickets } from './schema';

/** Queries of outgoing mail: the outbox and the addresses suppressed after hard bounces. */

export type OutboxRow = typeof outbox.$inferSelect;
export type NewOutboxRow = Omit<typeof outbox.$inferInsert, 'id'>;
export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'bounced';

export function insertOutbox(db: Db, row: NewOutboxRow): number {
  return insertRows(db, 'outbox', outbox, true).id(row);
}

/** A row with its ticket's ref (null for mail about no ticket, such as mailbox alerts). */
export type OutboxEntry = OutboxRow & { ref: string | null };

const withRef = { row: outbox, ref: tickets.ref };

function entries(rows: { row: OutboxRow; ref: string | null }[]): OutboxEntry[] {
  return rows.map((r) => ({ ...r.row, ref: r.ref }));
}

/** Pending rows whose next attempt is due, oldest first. */
export function dueOutbox(db: Db, now: number, limit = 20): OutboxEntry[] {
  return entries(
    db
      .select(withRef)
      .from(outbox)
      .leftJoin(tickets, eq(tickets.id, outbox.ticketId))
      .where(and(eq(outbox.status, 'pending'), lte(outbox.nextAttemptAt, now)))
      .orderBy(asc(outbox.nextAttemptAt), asc(outbox.id))
      .limit(limit)
      .all(),
  );
}

/** When the next pending row is due, or null when nothing is pending. */
export function nextOutboxDue(db: Db): number | null {
  return db.select({ at: sql<number | null>`min(${outbox.nextAttemptAt})` }).from(outbox).where(eq(outbox.status, 'pending')).get()?.at ?? null;
}

export function listOutbox(db: Db, options: { status?: string; limit?: number } = {}): OutboxEntry[] {
  return entries(
    db
      .select(withRef)
      .from(outbox)
      .leftJoin(tickets, eq(tickets.id, outbox.ticketId))
      .where(options.status ? eq(outbox.status, options.status) : undefined)
      .orderBy(desc(outbox.id))
      .limit(options.limit ?? 100)
      .all(),
  );
}

export function outboxById(db: Db, id: number): OutboxEntry | null {
  return entries(db.select(withRef).from(outbox).leftJoin(tickets, eq(tickets.id, outbox.ticketId)).where(eq(outbox.id, id)).all())[0] ?? null;
}

/** Marks a row sent, keeping the subject it went out with (its template's, in the recipient's language). */
export function markSent(db: Db, id: number, at: number, subject: string): void {
  db.update(outbox).set({ status: 'sent', sentAt: at, subject, attempts: sql`${outbox.attempts} + 1`, lastError: null }).where(eq(outbox.id, id)).run();
}

export function markRetry(db: Db, id: number, error: string, nextAttemptAt: number): void {
  db.update(outbox).set({ attempts: sql`${outbox.attempts} + 1`, lastError: error, nextAttemptAt }).where(eq(outbox.id, id)).run();
}

export function markFailed(db: Db, id: number, error: string): void {
  db.update(outbox).set({ status: 'failed', attempts: sql`${outbox.attempts} + 1`, lastError: error, nextAttemptAt: null }).where(eq(outbox.id, id)).run();
}

export function markBounced(db: Db, id: number, status: string | null, diagnostic: string | null, at: number): void {
  db.update(outbox).set({ status: 'bounced', bounceStatus: status, lastError: diagnostic, bouncedAt: at, nextAttemptAt: null }).where(eq(outbox.id, id)).run();
}

/** Puts a failed or bounced row back in the queue, due now. False when it is already pending or sent. */
export function requeue(db: Db, id: number, now: number): boolean {
  const res = db
    .update(outbox)
    .set({ status: 'pending', nextAttemptAt: now, lastError: null })
    .where(and(eq(outbox.id, id), inArray(outbox.status, ['failed', 'bounced'])))
    .run();
  return res.changes > 0;
}

/** The row that was sent with one of these Message-IDs. */
export function outboxByMessageIds(db: Db, ids: string[]): { id: number; recipients: string[]; ticketId: number | null; ref: string | null; template: string; data: Record<string, unknown>; bounceStatus: string | null } | null {
  if (ids.length === 0) return null;
  // Asked for every reply (is it a bounce of ours?): prepared once.
  const query = prepared(db, 'outboxByMessageIds', (d) =>
    d
      .select({ id: outbox.id, recipients: outbox.recipients, ticketId: outbox.ticketId, ref: tickets.ref, messageId: outbox.messageId, template: outbox.template, data: outbox.data, bounceStatus: outbox.bounceStatus })
      .from(outbox)
      .leftJoin(tickets, eq(tickets.id, outbox.ticketId))
      .where(inJsonList(outbox.messageId, 'ids'))
      .prepare(),
  );
  return firstByMessageId(ids, query.all({ ids: JSON.stringify(ids.slice(0, 500)) }));
}

/** The row of the first of `ids` that has one: the caller lists the most likely id first. */
export function firstByMessageId<T extends { messageId: string }>(ids: string[], rows: T[]): T | null {
  for (const id of ids) {
    const row = rows.find((r) => r.messageId === id);
    if (row) return row;
  }
  return null;
}

/** The recipient of an outbox row (every row has one), as the index outbox_template_recipient_created has it. */
const recipient = sql`json_extract(recipients, '$[0]')`;

/**
 * How many mails of this template went to this address since `since`, counting its
 * plus-addressed forms (`victim+1@x`, `victim+2@x`) as the same mailbox: they all reach one
 * person, so they share one budget (issue #17). Two counts, each one search of the index
 * outbox_template_recipient_created: the address itself, and the range `base+` ≤ recipient <
 * `base,` ('+' is 0x2B, ',' 0x2C) at the same domain. One query with OR made SQLite fall back
 * to scanning every row of the template in the window. A Gmail address's dotted forms are one
 * mailbox too (store/dotless-mailbox.ts): one count, one search of outbox_template_dotless_created.
 */
export function sentToSince(db: Db, template: string, address: string, since: number): number {
  const inWindow = (d: Db, which: SQL) =>
    d
      .select({ n: sql<number>`count(*)` })
      .from(outbox)
      .where(and(eq(outbox.template, sql.placeholder('template')), which, gt(outbox.createdAt, sql.placeholder('since'))))
      .prepare();
  const exact = prepared(db, 'sentToSince', (d) => inWindow(d, sql`${recipient} = ${sql.placeholder('address')}`));
  const plus = prepared(db, 'sentToSincePlus', (d) =>
    inWindow(d, sql`${recipient} >= ${sql.placeholder('plusFrom')} and ${recipient} < ${sql.placeholder('plusTo')} and substr(${recipient}, -length(${sql.placeholder('domain')})) = ${sql.placeholder('domain')}`),
  );
  const dotless = prepared(db, 'sentToSinceDotless', (d) => inWindow(d, sql`${SQLITE_DOTLESS_LOCAL} = ${sql.placeholder('local')} and ${DOTLESS_DOMAIN_OF(recipient)}`));
  const local = dotlessLocal(address);
  if (local !== null) return dotless.get({ template, local, since })?.n ?? 0;
  const range = plusRange(address);
  if (!range) return exact.get({ template, address, since })?.n ?? 0;
  return (exact.get({ template, address: range.base, since })?.n ?? 0) + (plus.get({ template, plusFrom: range.plusFrom, plusTo: range.plusTo, domain: range.domain, since })?.n ?? 0);
}

/** SQL: whether an address is at a DOTLESS_DOMAINS domain (SQLite). */
const DOTLESS_DOMAIN_OF = (a: SQL) => sql`lower(substr(${a}, instr(${a}, '@') + 1)) in (${sql.join(DOTLESS_DOMAINS.map((d) => sql`${d}`), sql`, `)})`;

/**
 * An address's mailbox for rate limits: `base` without any `+tag`, and the range of its
 * plus-addressed forms (`plusFrom` ≤ recipient < `plusTo`, ending in `domain`); null when the
 * address has no local part.
 */
export function plusRange(address: string): { base: string; plusFrom: string; plusTo: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const local = address.slice(0, at).split('+')[0];
  const domain = address.slice(at);
  return { base: `${local}${domain}`, plusFrom: `${local}+`, plusTo: `${local},`, domain };
}

export function suppress(db: Db, address: string, reason: string, until: number, at: number): void {
  db.insert(suppressions)
    .values({ address, reason, until, createdAt: at })
    .onConflictDoUpdate({ target: suppressions.address, set: { reason, until, createdAt: at } })
    .run();
}

export function suppressedUntil(db: Db, address: string, now: number): number | null {
  const query = prepared(db, 'suppressedUntil', (d) =>
    d
      .select({ until: suppressions.until })
      .from(suppressions)
      .where(and(eq(suppressions.address, sql.placeholder('address')), gt(suppressions.until, sql.placeholder('now'))))
      .prepare(),
  );
  return query.get({ address, now })?.until ?? null;
}

/** Whether an acknowledgement was ever queued for this ticket. */
export function ticketAcknowledged(db: Db, ticketId: number): boolean {
  return db.select({ id: outbox.id }).from(outbox).where(and(eq(outbox.ticketId, ticketId), eq(outbox.template, 'ack'))).limit(1).get() !== undefined;
}
