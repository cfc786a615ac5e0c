import { and, eq, isNull, sql } from 'drizzle-orm';
import { changeEvents } from '../tickets';
import type { AsyncWrites } from '../writes';
import * as r from './reads';
import type { PgDb } from './reads';
import { pgInsertRows, pgPrepared, pgRun } from './prepared';
import * as s from './schema';

/** A transaction-level advisory lock on `key` (released at COMMIT or ROLLBACK). */
async function dedupLock(db: PgDb, key: string): Promise<void> {
  await pgRun(db, 'dedup_lock', 'select pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

/** Attachment rows per insert: far below PostgreSQL's 65,535 parameters, whatever a message carries. */
const ATTACHMENT_ROWS = 1000;

/**
 * The PostgreSQL store's operations for the pipeline's writer (store/writes.ts), on `db`: the
 * connection of the transaction the caller opened. Each does what its SQLite namesake in
 * src/store does (pipeline-writes.test.ts applies the same mail to both stores and compares
 * every table).
 *
 * `contactsOn`: where contacts are written (added, named, their locale set), when not in `db`'s
 * transaction. The intake's batches pass the pool: a contact written in a batch stays locked
 * until that batch commits, and two batches each writing the other's next sender deadlock
 * (bench:cluster saw it with new addresses spread over many mailboxes). Written outside, each
 * write commits at once and the batch only reads the row. A batch that then rolls back leaves
 * the contact as written: an address book entry without tickets, or its first-seen locale, as
 * the same mail offered again writes them.
 */
export function pgWrites(db: PgDb, options: { contactsOn?: PgDb } = {}): AsyncWrites {
  const contacts = options.contactsOn ?? db;
  const addEvent: AsyncWrites['addEvent'] = (e) => pgInsertRows(db, 'events', s.events, { returningId: false }).run({ ticketId: e.ticketId, at: e.at, actor: e.actor, type: e.type, fromValue: e.from ?? null, toValue: e.to ?? null, reason: e.reason ?? null });
  return {
    // apply re-checks dedup in its transaction. SQLite's writers take turns (BEGIN IMMEDIATE);
    // PostgreSQL's batches run side by side, so the re-check first takes a lock on what it
    // looks for, held until the batch ends: a second batch with the same mail (delivered to
    // two mailboxes) waits, then sees the first one's rows and records a duplicate.
    processedRaw: async (sha256) => {
      await dedupLock(db, `raw:${sha256}`);
      return r.processedRaw(db, sha256);
    },
    inboundMessage: async (messageId, from) => {
      await dedupLock(db, `message-id:${messageId}`);
      return r.inboundMessage(db, messageId, from);
    },
    insertInbound: (row) => pgInsertRows(db, 'inbound', s.inbound, { returningId: false }).run(row),
    // Looked up before the upsert, in one statement: ON CONFLICT DO UPDATE locks the contact's
    // row until the batch commits even when it changes nothing, and an address on many mails (a
    // list, a colleague in Cc) then made every mailbox's batch wait for the others' (bench:cluster:
    // 22 s of lock waits in a 75 s run). A known contact whose name is set is only read.
    upsertContact: async (address, name, at) => {
      const email = address.toLowerCase();
      const given = name || null;
      const rows = await pgRun<{ id: number }>(
        contacts,
        'upsert_contact',
        `with found as (
           select id from contacts where email = $1 and (name is not null or $2::text is null)
         ), added as (
           insert into contacts (email, name, created_at)
           select $1, $2::text, $3::bigint where not exists (select 1 from found)
           on conflict (email) do update set name = coalesce(contacts.name, excluded.name)
           returning id
         )
         select id from found union all select id from added`,
        [email, given, at],
      );
      return rows[0].id;
    },
    createTicket: async (prefix, row) => {
      // The id is drawn from the sequence first, so the row goes in with its ref at once
      // (SQLite inserts it with a placeholder ref and then sets it).
      const id = (await pgRun<{ id: number }>(db, 'next_ticket_id', "select nextval(pg_get_serial_sequence('tickets', 'id'))::int as id", []))[0].id;
      await pgInsertRows(db, 'tickets', s.tickets, { returningId: false, withId: true }).run({ ...row, id, ref: `${prefix}-${id}` });
      return { id, ref: `${prefix}-${id}` };
    },
    addEvent,
    addParticipant: async (ticketId, contactId, role, at) => {
      const insert = pgPrepared(db, 'add_participant', (d, name) =>
        d
          .insert(s.participants)
          .values({ ticketId: sql.placeholder('ticketId'), contactId: sql.placeholder('contactId'), role: sql.placeholder('role'), addedAt: sql.placeholder('at') })
          .onConflictDoNothing()
          .returning({ ticketId: s.participants.ticketId })
          .prepare(name),
      );
      return (await insert.execute({ ticketId, contactId, role, at })).length > 0;
    },
    setValue: async (key, value) => {
      const upsert = pgPrepared(db, 'set_value', (d, name) =>
        d
          .insert(s.keyValue)
          .values({ key: sql.placeholder('key'), value: sql.placeholder('value') })
          .onConflictDoUpdate({ target: s.keyValue.key, set: { value: sql`excluded.value` } })
          .prepare(name),
      );
      await upsert.execute({ key, value });
    },
    getValue: (key) => r.getValue(db, key),
    touchTicket: async (ticketId, at) => {
      const touch = pgPrepared(db, 'touch_ticket', (d, name) =>
        d
          .update(s.tickets)
          .set({ updatedAt: sql`${sql.placeholder('at')}::bigint` })
          .where(eq(s.tickets.id, sql.placeholder('ticketId')))
          .prepare(name),
      );
      await touch.execute({ ticketId, at });
    },
    insertMessage: (row) => pgInsertRows(db, 'messages', s.messages, { returningId: true }).id(row),
    registerMessageId: async (messageId, ticketId, at) => {
      const insert = pgPrepared(db, 'register_message_id', (d, name) =>
        d
          .insert(s.messageIds)
          .values({ messageId: sql.placeholder('messageId'), ticketId: sql.placeholder('ticketId'), createdAt: sql.placeholder('at') })
          .onConflictDoNothing()
          .returning({ ticketId: s.messageIds.ticketId })
          .prepare(name),
      );
      if ((await insert.execute({ messageId, ticketId, at })).length > 0) return ticketId;
      const holder = pgPrepared(db, 'message_id_holder', (d, name) => d.select({ ticketId: s.messageIds.ticketId }).from(s.messageIds).where(eq(s.messageIds.messageId, sql.placeholder('messageId'))).prepare(name));
      return (await holder.execute({ messageId }))[0]?.ticketId ?? ticketId;
    },
    insertAttachments: async (rows) => {
      for (let i = 0; i < rows.length; i += ATTACHMENT_ROWS) await db.insert(s.attachments).values(rows.slice(i, i + ATTACHMENT_ROWS));
    },
    markBounced: async (id, status, diagnostic, at) => {
      await db.update(s.outbox).set({ status: 'bounced', bounceStatus: status, lastError: diagnostic, bouncedAt: at, nextAttemptAt: null }).where(eq(s.outbox.id, id));
    },
    suppress: async (address, reason, until, at) => {
      await db.insert(s.suppressions).values({ address, reason, until, createdAt: at }).onConflictDoUpdate({ target: s.suppressions.address, set: { reason, until, createdAt: at } });
    },
    applyChange: async (ticketId, change, actor, at, reason) => {
      const also = Object.fromEntries(Object.entries(change.also).filter(([, v]) => v !== undefined));
      await db
        .update(s.tickets)
        .set({ [change.field]: change.to, ...also, updatedAt: at })
        .where(eq(s.tickets.id, ticketId));
      for (const e of changeEvents(ticketId, change, actor, at, reason)) await addEvent(e);
    },
    ticketInfo: (id) => r.ticketInfo(db, id),
    hasEvent: (ticketId, type, to) => r.hasEvent(db, ticketId, type, to),
    lastCustomerMessage: (ticketId) => r.lastCustomerMessage(db, ticketId),
    setFirstResponse: async (ticketId, at) => {
      await db
        .update(s.tickets)
        .set({ firstResponseAt: at })
        .where(and(eq(s.tickets.id, ticketId), isNull(s.tickets.firstResponseAt)));
    },
    setRating: async (ticketId, score, comment, at) => {
      await db.update(s.tickets).set({ rating: score, ratingComment: comment, ratedAt: at }).where(eq(s.tickets.id, ticketId));
    },
    setSpamVerdict: async (ticketId, verdict) => {
      await db.update(s.tickets).set({ spamVerdict: verdict }).where(eq(s.tickets.id, ticketId));
    },
    setContactLocale: async (address, locale, opts = {}) => {
      const email = eq(s.contacts.email, address.toLowerCase());
      await contacts
        .update(s.contacts)
        .set({ locale })
        .where(opts.replace ? email : and(email, isNull(s.contacts.locale)));
    },
    mergeTicket: async (fromId, intoId, at) => {
      await db.update(s.messages).set({ ticketId: intoId }).where(eq(s.messages.ticketId, fromId));
      await db.update(s.messageIds).set({ ticketId: intoId }).where(eq(s.messageIds.ticketId, fromId));
      await db.execute(sql`insert into participants (ticket_id, contact_id, role, added_at) select ${intoId}, contact_id, role, added_at from participants where ticket_id = ${fromId} on conflict do nothing`);
      await db.update(s.tickets).set({ status: 'closed', closedAt: at, mergedInto: intoId, updatedAt: at }).where(eq(s.tickets.id, fromId));
      await db.update(s.tickets).set({ updatedAt: at }).where(eq(s.tickets.id, intoId));
    },
    insertOutbox: (row) => pgInsertRows(db, 'outbox', s.outbox, { returningId: true }).id(row),
  };
}
