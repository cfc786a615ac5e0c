import { insertInbound, processedRaw, type NewInboundRow } from './inbound';
import { getValue, setValue } from './key-value';
import { inboundMessage, insertAttachments, insertMessage, lastCustomerMessage, registerMessageId, type NewAttachmentRow, type NewMessageRow } from './messages';
import type { Db } from './open';
import { insertOutbox, markBounced, suppress, type NewOutboxRow } from './outbox';
import { addEvent, addParticipant, applyChange, createTicket, hasEvent, mergeTicket, setContactLocale, setFirstResponse, setRating, setSpamVerdict, ticketInfo, touchTicket, upsertContact, type EventInput, type NewTicketRow, type TicketChange } from './tickets';

/**
 * What the pipeline's writer (pipeline/apply.ts) and the scheduled jobs do to a store, one operation at a time.
 * apply is written once, as a plan that yields these operations (`Plan`); each store runs the
 * plan in its own transaction: SQLite synchronously (`runPlan`), so nothing else on the
 * event loop can write into its transaction, PostgreSQL asynchronously (`runPlanAsync`, on the
 * batch's connection). Reads inside the transaction (dedup re-checked, the ticket after a
 * change) are operations too.
 */
export interface Writes {
  processedRaw(sha256: string): { ticketRef: string | null } | null;
  inboundMessage(messageId: string, from: string | null): { ticketRef: string } | null;
  insertInbound(row: NewInboundRow): void;
  upsertContact(address: string, name: string | null, at: number): number;
  createTicket(prefix: string, row: NewTicketRow): { id: number; ref: string };
  addEvent(e: EventInput): void;
  addParticipant(ticketId: number, contactId: number, role: string, at: number): boolean;
  setValue(key: string, value: string): void;
  getValue(key: string): string | null;
  touchTicket(ticketId: number, at: number): void;
  insertMessage(row: NewMessageRow): number;
  /** The ticket that holds the Message-ID afterwards: the first to claim it keeps it. */
  registerMessageId(messageId: string, ticketId: number, at: number): number;
  insertAttachments(rows: NewAttachmentRow[]): void;
  markBounced(id: number, status: string | null, diagnostic: string | null, at: number): void;
  suppress(address: string, reason: string, until: number, at: number): void;
  applyChange(ticketId: number, change: TicketChange, actor: string, at: number, reason: string | null): void;
  ticketInfo(id: number): ReturnType<typeof ticketInfo>;
  /** Whether the ticket has an event of this type with this value (a notice or escalation already done). */
  hasEvent(ticketId: number, type: string, to: string): boolean;
  /** The customer's latest message on the ticket: what a notice quotes and answers. */
  lastCustomerMessage(ticketId: number): ReturnType<typeof lastCustomerMessage>;
  setFirstResponse(ticketId: number, at: number): void;
  setRating(ticketId: number, score: number, comment: string | null, at: number): void;
  setSpamVerdict(ticketId: number, verdict: string): void;
  setContactLocale(address: string, locale: string, opts?: { replace?: boolean }): void;
  mergeTicket(fromId: number, intoId: number, at: number): void;
  insertOutbox(row: NewOutboxRow): number;
}

/** The same operations, answered over the network. */
export type AsyncWrites = { [K in keyof Writes]: (...args: Parameters<Writes[K]>) => Promise<ReturnType<Writes[K]>> };

export type Op = { [K in keyof Writes]: { name: K; args: Parameters<Writes[K]> } }[keyof Writes];

/** A run of store operations that ends in a T. */
export type Plan<T> = Generator<Op, T, unknown>;

/** One operation of a plan: `const id = yield* write('insertMessage', row)`. */
export function* write<K extends keyof Writes>(name: K, ...args: Parameters<Writes[K]>): Generator<Op, ReturnType<Writes[K]>, unknown> {
  return (yield { name, args } as Op) as ReturnType<Writes[K]>;
}

/** The one place an operation meets its implementation; the Op union guarantees name and arguments belong together. */
const call = (writes: Writes | AsyncWrites, op: Op): unknown => (writes[op.name] as (...args: unknown[]) => unknown)(...op.args);

/** Runs a plan on a synchronous store, start to end without yielding to the event loop. */
export function runPlan<T>(plan: Plan<T>, writes: Writes): T {
  let step = plan.next();
  while (!step.done) step = plan.next(call(writes, step.value));
  return step.value;
}

/** Runs a plan on an asynchronous store, one operation after the other. */
export async function runPlanAsync<T>(plan: Plan<T>, writes: AsyncWrites): Promise<T> {
  let step = plan.next();
  while (!step.done) step = plan.next(await call(writes, step.value));
  return step.value;
}

/** The SQLite store's operations, on `db` (the caller's transaction). */
export function sqliteWrites(db: Db): Writes {
  return {
    processedRaw: (sha256) => processedRaw(db, sha256),
    inboundMessage: (messageId, from) => inboundMessage(db, messageId, from),
    insertInbound: (row) => insertInbound(db, row),
    upsertContact: (address, name, at) => upsertContact(db, address, name, at),
    createTicket: (prefix, row) => {
      const t = createTicket(db, prefix, row);
      return { id: t.id, ref: t.ref };
    },
    addEvent: (e) => addEvent(db, e),
    addParticipant: (ticketId, contactId, role, at) => addParticipant(db, ticketId, contactId, role, at),
    setValue: (key, value) => setValue(db, key, value),
    getValue: (key) => getValue(db, key),
    touchTicket: (ticketId, at) => touchTicket(db, ticketId, at),
    insertMessage: (row) => insertMessage(db, row),
    registerMessageId: (messageId, ticketId, at) => registerMessageId(db, messageId, ticketId, at),
    insertAttachments: (rows) => insertAttachments(db, rows),
    markBounced: (id, status, diagnostic, at) => markBounced(db, id, status, diagnostic, at),
    suppress: (address, reason, until, at) => suppress(db, address, reason, until, at),
    applyChange: (ticketId, change, actor, at, reason) => applyChange(db, ticketId, change, actor, at, reason),
    ticketInfo: (id) => ticketInfo(db, id),
    hasEvent: (ticketId, type, to) => hasEvent(db, ticketId, type, to),
    lastCustomerMessage: (ticketId) => lastCustomerMessage(db, ticketId),
    setFirstResponse: (ticketId, at) => setFirstResponse(db, ticketId, at),
    setRating: (ticketId, score, comment, at) => setRating(db, ticketId, score, comment, at),
    setSpamVerdict: (ticketId, verdict) => setSpamVerdict(db, ticketId, verdict),
    setContactLocale: (address, locale, opts) => setContactLocale(db, address, locale, opts),
    mergeTicket: (fromId, intoId, at) => mergeTicket(db, fromId, intoId, at),
    insertOutbox: (row) => insertOutbox(db, row),
  };
}
