import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db } from './open';
import { fromCustomerSide } from './customer-side';
import { inJsonList, insertRows, prepared } from './prepared';
import { attachments, keyValue, messageIds, messages, outbox, tickets } from './schema';

export type NewMessageRow = Omit<typeof messages.$inferInsert, 'id'>;
export type NewAttachmentRow = Omit<typeof attachments.$inferInsert, 'id'>;

/** The ticket of an inbound message with this Message-ID from this sender, if any. */
export function inboundMessage(db: Db, messageId: string, from: string | null): { ticketRef: string } | null {
  const query = prepared(db, from === null ? 'inboundMessage:nofrom' : 'inboundMessage', (d) =>
    d
      .select({ ticketRef: tickets.ref })
      .from(messages)
      .innerJoin(tickets, eq(tickets.id, messages.ticketId))
      .where(and(eq(messages.messageId, sql.placeholder('messageId')), eq(messages.direction, 'in'), from === null ? isNull(messages.fromAddress) : eq(messages.fromAddress, sql.placeholder('from'))))
      .prepare(),
  );
  return query.get({ messageId, from }) ?? null;
}

export function ticketsByMessageIds(db: Db, ids: string[]): Map<string, { id: number; ref: string }> {
  const found = new Map<string, { id: number; ref: string }>();
  if (ids.length === 0) return found;
  const query = prepared(db, 'ticketsByMessageIds', (d) =>
    d
      .select({ messageId: messageIds.messageId, id: tickets.id, ref: tickets.ref })
      .from(messageIds)
      .innerJoin(tickets, eq(tickets.id, messageIds.ticketId))
      .where(and(inJsonList(messageIds.messageId, 'ids'), sql`not exists (select 1 from ${keyValue} where ${keyValue.key} = ${SHARED_MESSAGE_ID} || ${messageIds.messageId})`))
      .prepare(),
  );
  for (const r of query.all({ ids: JSON.stringify(ids) })) found.set(r.messageId, { id: r.id, ref: r.ref });
  return found;
}

export function insertMessage(db: Db, row: NewMessageRow): number {
  return insertRows(db, 'messages', messages, true).id(row);
}

/**
 * Registers a Message-ID in the threading index; the first ticket to claim an id keeps it.
 * Returns the ticket that holds it now (another one when it was claimed before).
 */
export function registerMessageId(db: Db, messageId: string, ticketId: number, at: number): number {
  const inserted = prepared(db, 'registerMessageId', (d) =>
    d
      .insert(messageIds)
      .values({ messageId: sql.placeholder('messageId'), ticketId: sql.placeholder('ticketId'), createdAt: sql.placeholder('at') })
      .onConflictDoNothing()
      .prepare(),
  ).run({ messageId, ticketId, at });
  if (inserted.changes > 0) return ticketId;
  const holder = prepared(db, 'messageIdHolder', (d) => d.select({ ticketId: messageIds.ticketId }).from(messageIds).where(eq(messageIds.messageId, sql.placeholder('messageId'))).prepare());
  return holder.get({ messageId })?.ticketId ?? ticketId;
}

/** The key_value entry that marks a Message-ID two senders used (pipeline/apply.ts): no reply is threaded by it. */
export const SHARED_MESSAGE_ID = 'shared-message-id:';

/** One prepared insert per row: a message may carry thousands (5,000 uuencoded blocks were
 * too many SQL variables for one multi-row insert, issue #17). */
export function insertAttachments(db: Db, rows: NewAttachmentRow[]): void {
  if (rows.length === 0) return;
  const insert = insertRows(db, 'attachments', attachments, false);
  for (const row of rows) insert.run(row);
}

/** Path (under the data dir) of the raw bytes of a ticket's first inbound message. */
export function firstInboundRawPath(db: Db, ticketId: number): string | null {
  return (
    db
      .select({ rawPath: messages.rawPath })
      .from(messages)
      .where(and(eq(messages.ticketId, ticketId), eq(messages.direction, 'in'), isNotNull(messages.rawPath)))
      .orderBy(asc(messages.id))
      .limit(1)
      .get()?.rawPath ?? null
  );
}

/** Inbound messages from this address on this ticket since `since` (flood detection). */
export function messagesFromSince(db: Db, ticketId: number, address: string, since: number): number {
  const query = prepared(db, 'messagesFromSince', (d) =>
    d
      .select({ n: sql<number>`count(*)` })
      .from(messages)
      .where(and(eq(messages.ticketId, sql.placeholder('ticketId')), eq(messages.direction, 'in'), eq(messages.fromAddress, sql.placeholder('address')), gt(messages.createdAt, sql.placeholder('since'))))
      .prepare(),
  );
  return query.get({ ticketId, address, since })?.n ?? 0;
}

/** Message-IDs the customer has seen on a ticket: their own messages and what we sent them, oldest first. */
export function customerThread(db: Db, ticketId: number, customer: string | null): string[] {
  const inbound = db.select({ id: messages.messageId, at: messages.createdAt }).from(messages).where(fromCustomerSide(messages, ticketId)).all();
  const sent = customer
    ? db
        .select({ id: outbox.messageId, at: outbox.createdAt })
        .from(outbox)
        .where(and(eq(outbox.ticketId, ticketId), inArray(outbox.status, ['pending', 'sent']), sql`exists (select 1 from json_each(${outbox.recipients}) where value = ${customer})`))
        .all()
    : [];
  return [...inbound, ...sent].sort((a, b) => a.at - b.at).map((r) => r.id);
}

export function lastCustomerMessage(db: Db, ticketId: number) {
  return (
    db
      .select({ from: messages.fromAddress, fromName: messages.fromName, subject: messages.subject, text: messages.text, messageId: messages.messageId, references: messages.references })
      .from(messages)
      .where(fromCustomerSide(messages, ticketId))
      .orderBy(desc(messages.id))
      .limit(1)
      .get() ?? null
  );
}

export function recentNotes(db: Db, ticketId: number, limit: number) {
  return db
    .select({ from: messages.fromAddress, text: messages.text, at: messages.createdAt })
    .from(messages)
    .where(and(eq(messages.ticketId, ticketId), eq(messages.kind, 'internal_note')))
    .orderBy(desc(messages.id))
    .limit(limit)
    .all();
}
