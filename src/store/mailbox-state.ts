import { and, asc, eq, inArray } from 'drizzle-orm';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Db } from './open';
import { inbound, mailboxState } from './schema';

/** Positions looked up per query (SQLite allows 32,766 parameters; PostgreSQL 65,535). */
export const TAKEN_CHUNK = 500;

export type MailboxStateRow = typeof mailboxState.$inferSelect;

/**
 * What a source (src/mail-in) keeps of its mailbox: where it stands, how its last checks went,
 * and which of its messages the desk took (a Maildir's cur/). SQLite's answers at once
 * (MailboxStateStore); PostgreSQL's over the network (store/pg/mailbox-state.ts), so a source
 * awaits what it reads and the positions it saves.
 */
export interface SourceState {
  get(mailbox: string): MailboxStateRow | null | Promise<MailboxStateRow | null>;
  /** Records the position (UIDVALIDITY and last acknowledged UID). */
  savePosition(mailbox: string, uidValidity: string | null, lastUid: number): void | Promise<void>;
  /** A check completed: the mailbox was read and `backlog` messages were waiting. */
  recordCheck(mailbox: string, backlog: number, at: number): void | Promise<void>;
  recordState(mailbox: string, state: string, at: number): void | Promise<void>;
  recordError(mailbox: string, error: string, at: number): void | Promise<void>;
  /** Which of these positions of `source` the desk has an inbound row for (it took them). */
  taken(source: string, positions: string[]): Set<string> | Promise<Set<string>>;
}

/** Where a source stands in its mailbox, and how its last checks went (`helpdesk status`). */
export interface MailboxStateStore extends SourceState {
  get(mailbox: string): MailboxStateRow | null;
  /** Records the position (UIDVALIDITY and last acknowledged UID). */
  savePosition(mailbox: string, uidValidity: string | null, lastUid: number): void;
  /** A check completed: the mailbox was read and `backlog` messages were waiting. */
  recordCheck(mailbox: string, backlog: number, at: number): void;
  recordState(mailbox: string, state: string, at: number): void;
  recordError(mailbox: string, error: string, at: number): void;
  taken(source: string, positions: string[]): Set<string>;
  list(): MailboxStateRow[];
}

/**
 * The rows are small status writes outside any batch's meaning: committed with whoever's
 * transaction is open, they are harmless, and lost with a batch, a position only makes the
 * source offer mail again that dedup then recognises.
 */
export function mailboxStateStore(db: Db): MailboxStateStore {
  const upsert = (mailbox: string, set: Partial<MailboxStateRow>, at: number) =>
    db
      .insert(mailboxState)
      .values({ mailbox, ...set, updatedAt: at })
      .onConflictDoUpdate({ target: mailboxState.mailbox, set: { ...set, updatedAt: at } })
      .run();
  return {
    get: (mailbox) => db.select().from(mailboxState).where(eq(mailboxState.mailbox, mailbox)).get() ?? null,
    savePosition: (mailbox, uidValidity, lastUid) => upsert(mailbox, { uidValidity, lastUid }, Date.now()),
    recordCheck: (mailbox, backlog, at) => upsert(mailbox, { backlog, lastCheckAt: at }, at),
    recordState: (mailbox, state, at) => upsert(mailbox, { state }, at),
    recordError: (mailbox, error, at) => upsert(mailbox, { lastError: error, lastErrorAt: at }, at),
    taken: (source, positions) => {
      const found = new Set<string>();
      for (let i = 0; i < positions.length; i += TAKEN_CHUNK) {
        const rows = db.select({ position: inbound.position }).from(inbound).where(and(eq(inbound.source, source), inArray(inbound.position, positions.slice(i, i + TAKEN_CHUNK)))).all();
        for (const r of rows) if (r.position !== null) found.add(r.position);
      }
      return found;
    },
    list: () => db.select().from(mailboxState).orderBy(asc(mailboxState.mailbox)).all(),
  };
}

/**
 * The same store for a source's bookkeeping, where a write that fails (the disk is full: the
 * very failure the source is reporting) is logged instead of thrown: a source must go on
 * retrying whatever its status rows can record. Positions are not among them: a position
 * that cannot be saved must fail the caller.
 */
export function bestEffort(state: SourceState, log: Logger): SourceState {
  const failed = (what: string) => (err: unknown) => log.warn({ err: errorMessage(err), what }, 'cannot record the mailbox status');
  const attempt =
    <A extends unknown[]>(what: string, fn: (...args: A) => void | Promise<void>) =>
    (...args: A): void => {
      try {
        const done: unknown = fn(...args);
        // SQLite's write returns its result, PostgreSQL's a promise: only a promise can fail later.
        if (done instanceof Promise) done.catch(failed(what));
      } catch (err) {
        failed(what)(err);
      }
    };
  return {
    get: (mailbox) => state.get(mailbox),
    savePosition: (mailbox, uidValidity, lastUid) => state.savePosition(mailbox, uidValidity, lastUid),
    recordCheck: attempt('check', (m: string, backlog: number, at: number) => state.recordCheck(m, backlog, at)),
    recordState: attempt('state', (m: string, current: string, at: number) => state.recordState(m, current, at)),
    recordError: attempt('error', (m: string, error: string, at: number) => state.recordError(m, error, at)),
    taken: (source, positions) => state.taken(source, positions),
  };
}
