import { and, eq, sql, type Column } from 'drizzle-orm';

/**
 * Mail on the customer's side of a ticket: from the customer, or from someone the customer
 * (or a trusted agent) copied in. A stranger's mail kept on the ticket (one who knew a
 * Message-ID, or wrote in an agent's name without the agent's signature) is not: the relay
 * must never answer it, thread on it or quote it (issue #19). One condition for both stores
 * (`messages`: the SQLite or the PostgreSQL table, whose columns have the same names).
 */
export function fromCustomerSide(messages: { ticketId: Column; direction: Column; kind: Column; fromAddress: Column }, ticketId: number) {
  return and(
    eq(messages.ticketId, ticketId),
    eq(messages.direction, 'in'),
    eq(messages.kind, 'customer'),
    sql`lower(${messages.fromAddress}) in (select c.email from participants p join contacts c on c.id = p.contact_id where p.ticket_id = ${ticketId} and p.role in ('customer', 'cc'))`,
  );
}
