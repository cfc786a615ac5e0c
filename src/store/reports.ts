import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './open';
import { events, messages, tickets } from './schema';

/**
 * The rows the report is computed from (src/report/figures.ts), read from SQLite here and from
 * PostgreSQL by store/pg/reports.ts: the figures are computed in one place from either.
 */
export interface ReportRows {
  tickets: ReportTicket[];
  /** Events of the kinds the report counts, in [since, until). */
  events: ReportEvent[];
  /** Tickets merged into another (closed by `#merge`, their messages moved): not closed work. */
  merged: Set<number>;
  /** Per ticket: messages exchanged (customer and agent replies). */
  messagesPerTicket: Array<{ ticketId: number; n: number }>;
  /** Agent replies per agent in [since, until). */
  replies: Array<{ from: string | null; n: number }>;
  /** Tickets with at least one agent reply relayed to the customer. */
  agentReplied: Set<number>;
}

export interface ReportEvent {
  ticketId: number;
  at: number;
  actor: string;
  type: string;
  from: string | null;
  to: string | null;
}

/** The event types the report reads. */
export const REPORT_EVENT_TYPES = ['status_changed', 'time_spent', 'sla_breach', 'answer_used', 'articles_suggested', 'articles_offered'];

/** The kinds of message counted as exchanged on a ticket. */
export const EXCHANGED_KINDS = ['customer', 'agent_reply'];

export function sqliteReportRows(db: Db, since: number, until: number): ReportRows {
  const { perTicket, replies } = reportMessages(db, since, until);
  return { tickets: reportTickets(db), events: reportEvents(db, since, until), merged: reportMergedTickets(db), messagesPerTicket: perTicket, replies, agentReplied: ticketsWithAgentReply(db) };
}

export type ReportTicket = Pick<
  typeof tickets.$inferSelect,
  'id' | 'status' | 'priority' | 'severity' | 'category' | 'queue' | 'assignee' | 'createdAt' | 'firstResponseAt' | 'resolvedAt' | 'closedAt' | 'dueAt' | 'firstResponseDueAt' | 'pausedAt' | 'organisation' | 'contract' | 'ref' | 'spamVerdict' | 'rating' | 'ratedAt'
>;

/** The ticket columns the report reads, picked from either store's tickets table (same names). */
const REPORT_TICKET_COLUMNS = ['id', 'status', 'priority', 'severity', 'category', 'queue', 'assignee', 'createdAt', 'firstResponseAt', 'resolvedAt', 'closedAt', 'dueAt', 'firstResponseDueAt', 'pausedAt', 'organisation', 'contract', 'ref', 'spamVerdict', 'rating', 'ratedAt'] as const satisfies ReadonlyArray<keyof ReportTicket>;

export function reportTicketColumns<T extends Record<(typeof REPORT_TICKET_COLUMNS)[number], unknown>>(table: T): Pick<T, (typeof REPORT_TICKET_COLUMNS)[number]> {
  return Object.fromEntries(REPORT_TICKET_COLUMNS.map((k) => [k, table[k]])) as Pick<T, (typeof REPORT_TICKET_COLUMNS)[number]>;
}

function reportTickets(db: Db): ReportTicket[] {
  return db.select(reportTicketColumns(tickets)).from(tickets).all();
}

function reportEvents(db: Db, since: number, until: number): ReportEvent[] {
  return db
    .select({ ticketId: events.ticketId, at: events.at, actor: events.actor, type: events.type, from: events.fromValue, to: events.toValue })
    .from(events)
    .where(and(gte(events.at, since), lt(events.at, until), inArray(events.type, REPORT_EVENT_TYPES)))
    .all();
}

function reportMergedTickets(db: Db): Set<number> {
  return new Set(
    db
      .select({ ticketId: events.ticketId })
      .from(events)
      .where(eq(events.type, 'merged_into'))
      .all()
      .map((r) => r.ticketId),
  );
}

function reportMessages(db: Db, since: number, until: number) {
  const perTicket = db
    .select({ ticketId: messages.ticketId, n: sql<number>`count(*)` })
    .from(messages)
    .where(inArray(messages.kind, EXCHANGED_KINDS))
    .groupBy(messages.ticketId)
    .all();
  const replies = db
    .select({ from: messages.fromAddress, n: sql<number>`count(*)` })
    .from(messages)
    .where(and(eq(messages.kind, 'agent_reply'), gte(messages.createdAt, since), lt(messages.createdAt, until)))
    .groupBy(messages.fromAddress)
    .all();
  return { perTicket, replies };
}

function ticketsWithAgentReply(db: Db): Set<number> {
  return new Set(
    db
      .selectDistinct({ ticketId: messages.ticketId })
      .from(messages)
      .where(eq(messages.kind, 'agent_reply'))
      .all()
      .map((r) => r.ticketId),
  );
}
