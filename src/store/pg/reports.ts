import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { EXCHANGED_KINDS, REPORT_EVENT_TYPES, reportTicketColumns, type ReportRows } from '../reports';
import type { PgDb } from './reads';
import * as s from './schema';

const count = sql<number>`count(*)`.mapWith(Number);

/**
 * The report's rows from PostgreSQL: what store/reports.ts reads from SQLite, query for query.
 * `db` is a transaction (the view opens a read-only one at repeatable read, so every figure
 * comes from one snapshot while daemons go on writing) or the pool.
 */
export async function pgReportRows(db: Pick<PgDb, 'select' | 'selectDistinct'>, since: number, until: number): Promise<ReportRows> {
  const tickets = await db.select(reportTicketColumns(s.tickets)).from(s.tickets);
  const e = s.events;
  const events = await db
    .select({ ticketId: e.ticketId, at: e.at, actor: e.actor, type: e.type, from: e.fromValue, to: e.toValue })
    .from(e)
    .where(and(gte(e.at, since), lt(e.at, until), inArray(e.type, REPORT_EVENT_TYPES)));
  const merged = await db.select({ ticketId: e.ticketId }).from(e).where(eq(e.type, 'merged_into'));
  const m = s.messages;
  const messagesPerTicket = await db.select({ ticketId: m.ticketId, n: count }).from(m).where(inArray(m.kind, EXCHANGED_KINDS)).groupBy(m.ticketId);
  const replies = await db
    .select({ from: m.fromAddress, n: count })
    .from(m)
    .where(and(eq(m.kind, 'agent_reply'), gte(m.createdAt, since), lt(m.createdAt, until)))
    .groupBy(m.fromAddress);
  const agentReplied = await db.selectDistinct({ ticketId: m.ticketId }).from(m).where(eq(m.kind, 'agent_reply'));
  return { tickets, events, merged: new Set(merged.map((r) => r.ticketId)), messagesPerTicket, replies, agentReplied: new Set(agentReplied.map((r) => r.ticketId)) };
}
