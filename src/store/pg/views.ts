import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { TicketFilters } from '../../search/query';
import type { DeskView } from '../desk-view';
import { eventEntry, ticketDocument, ticketSummary, type TicketRow } from '../tickets';
import { readBlob } from './blobs';
import { contactLocale, spamTotals, suppressedUntil, type PgDb } from './reads';
import { pgMailboxState } from './mailbox-state';
import { pgReportRows } from './reports';
import * as s from './schema';

/**
 * The desk as staff read it (store/desk-view.ts) on PostgreSQL: each answer the one its SQLite
 * namesake gives (the same documents: ticketSummary, ticketDocument).
 */
export function pgView(db: PgDb): DeskView {
  const byRef = async (ref: string): Promise<TicketRow | null> => (await db.select().from(s.tickets).where(eq(s.tickets.ref, ref.toUpperCase())).limit(1))[0] ?? null;
  const list: DeskView['listTickets'] = async (options = {}) => {
    const rows = await db
      .select({
        t: s.tickets,
        customer: s.contacts.email,
        messageCount: sql<number>`(select count(*) from ${s.messages} where ${s.messages.ticketId} = ${s.tickets.id})`.mapWith(Number),
      })
      .from(s.tickets)
      .leftJoin(s.contacts, eq(s.contacts.id, s.tickets.customerId))
      .where(and(options.status ? eq(s.tickets.status, options.status) : undefined, options.ref ? eq(s.tickets.ref, options.ref) : undefined, ...(options.filters ? pgFilterConditions(options.filters) : [])))
      .orderBy(desc(s.tickets.id))
      .limit(options.limit ?? 1_000_000);
    return rows.map(ticketSummary);
  };
  return {
    listTickets: list,
    ticketByRef: byRef,
    async showTicket(ref) {
      const row = await byRef(ref);
      if (!row) return null;
      const [summary] = await list({ ref: row.ref });
      const people = await db
        .select({ email: s.contacts.email, name: s.contacts.name, role: s.participants.role })
        .from(s.participants)
        .innerJoin(s.contacts, eq(s.contacts.id, s.participants.contactId))
        .where(eq(s.participants.ticketId, row.id))
        .orderBy(asc(s.participants.addedAt), asc(s.contacts.id));
      const atts = await db.select({ a: s.attachments }).from(s.attachments).innerJoin(s.messages, eq(s.messages.id, s.attachments.messageId)).where(eq(s.messages.ticketId, row.id)).orderBy(asc(s.attachments.id));
      return ticketDocument({
        row,
        summary,
        people,
        messages: await db.select().from(s.messages).where(eq(s.messages.ticketId, row.id)).orderBy(asc(s.messages.id)),
        attachments: atts.map((x) => x.a),
        events: await db.select().from(s.events).where(eq(s.events.ticketId, row.id)).orderBy(asc(s.events.id)),
      });
    },
    listInbound: async (options = {}) =>
      db
        .select()
        .from(s.inbound)
        .where(options.outcome ? eq(s.inbound.outcome, options.outcome) : undefined)
        .orderBy(desc(s.inbound.id))
        .limit(options.limit ?? 100),
    listOutbox: async (options = {}) => {
      const rows = await db
        .select({ row: s.outbox, ref: s.tickets.ref })
        .from(s.outbox)
        .leftJoin(s.tickets, eq(s.tickets.id, s.outbox.ticketId))
        .where(options.status ? eq(s.outbox.status, options.status) : undefined)
        .orderBy(desc(s.outbox.id))
        .limit(options.limit ?? 100);
      return rows.map((r) => ({ ...r.row, ref: r.ref }));
    },
    listEvents: async (options = {}) => {
      const rows = await db
        .select({ ref: s.tickets.ref, e: s.events })
        .from(s.events)
        .innerJoin(s.tickets, eq(s.tickets.id, s.events.ticketId))
        .where(options.type ? eq(s.events.type, options.type) : undefined)
        .orderBy(asc(s.events.id));
      return rows.map(({ ref, e }) => ({ ref, ...eventEntry(e) }));
    },
    suppressedUntil: (address, now) => suppressedUntil(db, address, now),
    spamTotals: () => spamTotals(db),
    mailboxState: async (mailbox) => pgMailboxState(db).get(mailbox),
    reportRows: (since, until) => db.transaction((tx) => pgReportRows(tx, since, until), { isolationLevel: 'repeatable read', accessMode: 'read only' }),
    contactLocale: (address) => contactLocale(db, address),
    readFile: (storePath) => readBlob(db, storePath),
  };
}

/** As store/search.ts filterConditions, in PostgreSQL's SQL. */
export function pgFilterConditions(f: TicketFilters, opts: { hideSpam?: boolean } = {}): SQL[] {
  const out: SQL[] = [];
  const lowered = (values: string[]) => sql.param(values.map((v) => v.toLowerCase()));
  const oneOf = (column: SQL, values: string[] | undefined) => {
    if (values?.length) out.push(sql`lower(${column}) = any(${lowered(values)}::text[])`);
  };
  oneOf(sql`${s.tickets.status}`, f.status);
  oneOf(sql`${s.tickets.priority}`, f.priority);
  oneOf(sql`${s.tickets.severity}`, f.severity);
  oneOf(sql`${s.tickets.queue}`, f.queue);
  oneOf(sql`${s.tickets.category}`, f.category);
  oneOf(sql`${s.tickets.organisation}`, f.organisation);
  oneOf(sql`${s.tickets.spamVerdict}`, f.spam);
  if (f.assignee?.length) {
    const named = f.assignee.filter((a) => a !== 'none');
    const parts = [named.length ? sql`lower(${s.tickets.assignee}) = any(${sql.param(named)}::text[])` : null, f.assignee.includes('none') ? sql`${s.tickets.assignee} is null` : null].filter((p): p is SQL => p !== null);
    out.push(sql`(${sql.join(parts, sql` or `)})`);
  }
  if (f.customer?.length) {
    // `@acme.example`: the domain; an address: that address; anything else: part of one.
    const each = f.customer.map((c) => (c.startsWith('@') ? sql`right(${s.contacts.email}, ${c.length}) = ${c.toLowerCase()}` : c.includes('@') ? sql`${s.contacts.email} = ${c}` : sql`position(${c} in ${s.contacts.email}) > 0`));
    out.push(sql`(${sql.join(each, sql` or `)})`);
  }
  for (const tag of f.tag ?? []) out.push(sql`exists (select 1 from jsonb_array_elements_text(${s.tickets.tags}) as v where lower(v) = lower(${tag}))`);
  if (f.since !== undefined) out.push(sql`${s.tickets.createdAt} >= ${f.since}`);
  if (f.until !== undefined) out.push(sql`${s.tickets.createdAt} < ${f.until}`);
  // Spam stays out of a search unless it is asked for.
  if (opts.hideSpam && !f.status?.includes('spam') && !f.spam?.length) out.push(sql`${s.tickets.status} <> 'spam'`);
  return out;
}
