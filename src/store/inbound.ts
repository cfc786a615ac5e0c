import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { insertRows, prepared } from './prepared';
import type { Db } from './open';
import { inbound, tickets } from './schema';

export type NewInboundRow = Omit<typeof inbound.$inferInsert, 'id'>;

/** Outcomes that mean "this raw message has had its effect" (an ignored bounce too); quarantined ones may be retried. */
/** Outcomes after which the same bytes again are a duplicate. */
export const PROCESSED = ['created', 'appended', 'ignored'];

export function processedRaw(db: Db, sha256: string): { ticketRef: string | null } | null {
  const query = prepared(db, 'processedRaw', (d) =>
    d
      .select({ ticketRef: tickets.ref })
      .from(inbound)
      .leftJoin(tickets, eq(tickets.id, inbound.ticketId))
      .where(and(eq(inbound.rawSha256, sql.placeholder('sha256')), inArray(inbound.outcome, PROCESSED)))
      .prepare(),
  );
  return query.get({ sha256 }) ?? null;
}

export function insertInbound(db: Db, row: NewInboundRow): void {
  insertRows(db, 'inbound', inbound, false).run(row);
}

export function listInbound(db: Db, options: { outcome?: string; limit?: number } = {}) {
  return db
    .select()
    .from(inbound)
    .where(options.outcome ? eq(inbound.outcome, options.outcome) : undefined)
    .orderBy(desc(inbound.id))
    .limit(options.limit ?? 100)
    .all();
}

/** The ticket a raw message made or joined (its first processed copy), if any. */
export function ticketOfRaw(db: Db, sha256: string): { id: number; status: string; spamVerdict: string | null; outcome: string; source: string; position: string | null } | null {
  return (
    db
      .select({ id: tickets.id, status: tickets.status, spamVerdict: tickets.spamVerdict, outcome: inbound.outcome, source: inbound.source, position: inbound.position })
      .from(inbound)
      .innerJoin(tickets, eq(tickets.id, inbound.ticketId))
      .where(and(eq(inbound.rawSha256, sha256), inArray(inbound.outcome, PROCESSED)))
      .orderBy(asc(inbound.id))
      .limit(1)
      .get() ?? null
  );
}

/** Whether these bytes were seen before at this same source position (a re-delivery after a crash). */
export function seenBeforeAt(db: Db, sha256: string, source: string, position: string | null): boolean {
  const rows = db
    .select({ id: inbound.id })
    .from(inbound)
    .where(and(eq(inbound.rawSha256, sha256), eq(inbound.source, source), position === null ? isNull(inbound.position) : eq(inbound.position, position)))
    .orderBy(asc(inbound.id))
    .limit(2)
    .all();
  // The latest row is the copy being handled now; an earlier one means a re-delivery.
  return rows.length > 1;
}
