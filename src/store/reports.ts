import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from './open';
import { events, messages, tickets } from './schema';

/** The rows the report is computed from (src/report/figures.ts); one query per table. */

export type ReportTicket = Pick<
  typeof tickets.$inferSelect,
  'id' | 'status' | 'priority' | 'severity' | 'category' | 'queue' | 'assignee' | 'createdAt' | 'firstResponseAt' | 'resolvedAt' | 'closedAt' | 'dueAt' | 'firstResponseDueAt' | 'pausedAt' | 'organisation' | 'contract' | 'ref' | 'spamVerdict' | 'rating' | 'ratedAt'
>;

export function reportTickets(db: Db): ReportTicket[] {
  return db
    .select({
      id: tickets.id,
      status: tickets.status,
      priority: tickets.priority,
      severity: tickets.severity,
      category: tickets.category,
      queue: tickets.queue,
      assignee: tickets.assignee,
      createdAt: tickets.createdAt,
      firstResponseAt: tickets.firstResponseAt,
      resolvedAt: tickets.resolvedAt,
      closedAt: tickets.closedAt,
      dueAt: tickets.dueAt,
      firstResponseDueAt: tickets.firstResponseDueAt,
      pausedAt: tickets.pausedAt,
      organisation: tickets.organisation,
      contract: tickets.contract,
      ref: tickets.ref,
      spamVerdict: tickets.spamVerdict,
      rating: tickets.rating,
      ratedAt: tickets.ratedAt,
    })
    .from(tickets)
    .all();
}

/** Events of the kinds the report counts, in [since, until). */
export function reportEvents(db: Db, since: number, until: number) {
  return db
    .select({ ticketId: events.ticketId, at: events.at, actor: events.actor, type: events.type, from: events.fromValue, to: events.toValue })
    .from(events)
    .where(and(gte(events.at, since), lt(events.at, until), inArray(events.type, ['status_changed', 'time_spent', 'sla_breach', 'answer_used', 'articles_suggested', 'articles_offered'])))
    .all();
}

/** Tickets merged into another (closed by `#merge`, their messages moved): not closed work. */
export function reportMergedTickets(db: Db): Set<number> {
  return new Set(
    db
      .select({ ticketId: events.ticketId })
      .from(events)
      .where(eq(events.type, 'merged_into'))
      .all()
      .map((r) => r.ticketId),
  );
}

/** Per ticket: messages exchanged (customer and agent replies), and agent replies per agent in [since, until). */
export function reportMessages(db: Db, since: number, until: number) {
  const perTicket = db
    .select({ ticketId: messages.ticketId, n: sql<number>`count(*)` })
    .from(messages)
    .where(inArray(messages.kind, ['customer', 'agent_reply']))
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

/** Tickets with at least one agent reply relayed to the customer. */
export function ticketsWithAgentReply(db: Db): Set<number> {
  return new Set(
    db
      .selectDistinct({ ticketId: messages.ticketId })
      .from(messages)
      .where(eq(messages.kind, 'agent_reply'))
      .all()
      .map((r) => r.ticketId),
  );
}
