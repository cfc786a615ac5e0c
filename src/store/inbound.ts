import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from './open';
import { inbound, tickets } from './schema';

export type NewInboundRow = Omit<typeof inbound.$inferInsert, 'id'>;

/** Outcomes that mean "this raw message has had its effect"; quarantined ones may be retried. */
const PROCESSED = ['created', 'appended'];

export function processedRaw(db: Db, sha256: string): { ticketRef: string | null } | null {
  const row = db
    .select({ ticketRef: tickets.ref })
    .from(inbound)
    .leftJoin(tickets, eq(tickets.id, inbound.ticketId))
    .where(and(eq(inbound.rawSha256, sha256), inArray(inbound.outcome, PROCESSED)))
    .get();
  return row ?? null;
}

export function insertInbound(db: Db, row: NewInboundRow): void {
  db.insert(inbound).values(row).run();
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
