import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listInbound } from './inbound';
import { mailboxStateStore, type MailboxStateRow } from './mailbox-state';
import type { Store } from './open';
import { listOutbox, suppressedUntil, type OutboxEntry } from './outbox';
import { asc, eq } from 'drizzle-orm';
import { events, tickets, type inbound } from './schema';
import { sqliteReportRows, type ReportRows } from './reports';
import { spamStore } from './spam';
import { contactLocale, eventEntry, listTickets, showTicket, ticketByRef, type TicketDocument, type TicketRow, type TicketSummary } from './tickets';
import type { TicketFilters } from '../search/query';

export type InboundEntry = typeof inbound.$inferSelect;

/** An event with the ref of its ticket, as `tickets show` lists them. */
export type DeskEvent = TicketDocument['events'][number] & { ref: string };

/**
 * What staff and tests read of a desk — tickets listed and shown, the intake's record, the
 * outbox — with the same answers from either store: SQLite's functions in src/store, or
 * PostgreSQL's (store/pg/views.ts). Newest first, as the CLI lists them.
 */
export interface DeskView {
  listTickets(options?: { status?: string; ref?: string; limit?: number; filters?: TicketFilters }): Promise<TicketSummary[]>;
  showTicket(ref: string): Promise<TicketDocument | null>;
  ticketByRef(ref: string): Promise<TicketRow | null>;
  listInbound(options?: { outcome?: string; limit?: number }): Promise<InboundEntry[]>;
  listOutbox(options?: { status?: string; limit?: number }): Promise<OutboxEntry[]>;
  /** Every ticket's history, oldest first: the events of one type, or all. */
  listEvents(options?: { type?: string }): Promise<DeskEvent[]>;
  /** Until when mail to this address is held back (a bounce suppressed it), or null. */
  suppressedUntil(address: string, now: number): Promise<number | null>;
  /** How many messages the spam filter has learnt as spam and as ham. */
  spamTotals(): Promise<{ spam: number; ham: number }>;
  /** The language a contact writes in, as recorded (null: not known). */
  contactLocale(address: string): Promise<string | null>;
  /** A raw mail or attachment kept, by the path its row names; null when the store has none. */
  readFile(storePath: string): Promise<Buffer | null>;
  /** Where a mailbox's source stands (position, state, last error), as `helpdesk status` shows it. */
  mailboxState(mailbox: string): Promise<MailboxStateRow | null>;
  /** What `helpdesk report` computes its figures from, for the period [since, until). */
  reportRows(since: number, until: number): Promise<ReportRows>;
}

export function sqliteView(store: Store): DeskView {
  return {
    listTickets: async (options) => listTickets(store.db, options),
    showTicket: async (ref) => showTicket(store.db, ref),
    ticketByRef: async (ref) => ticketByRef(store.db, ref),
    listInbound: async (options) => listInbound(store.db, options),
    listOutbox: async (options) => listOutbox(store.db, options),
    listEvents: async (options = {}) =>
      store.db
        .select({ ref: tickets.ref, e: events })
        .from(events)
        .innerJoin(tickets, eq(tickets.id, events.ticketId))
        .where(options.type ? eq(events.type, options.type) : undefined)
        .orderBy(asc(events.id))
        .all()
        .map(({ ref, e }) => ({ ref, ...eventEntry(e) })),
    suppressedUntil: async (address, now) => suppressedUntil(store.db, address, now),
    spamTotals: async () => spamStore(store).totals(),
    reportRows: async (since, until) => sqliteReportRows(store.db, since, until),
    mailboxState: async (mailbox) => mailboxStateStore(store.db).get(mailbox),
    contactLocale: async (address) => contactLocale(store.db, address),
    // From the disk, not from a write still in memory: what is read is what was kept.
    readFile: async (storePath) => readFile(path.join(store.dataDir, storePath)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    }),
  };
}
