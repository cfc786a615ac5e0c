import { asc, eq } from 'drizzle-orm';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Db } from './open';
import { mailboxState } from './schema';

export type MailboxStateRow = typeof mailboxState.$inferSelect;

/** Where a source stands in its mailbox, and how its last checks went (`helpdesk status`). */
export interface MailboxStateStore {
  get(mailbox: string): MailboxStateRow | null;
  /** Records the position (UIDVALIDITY and last acknowledged UID). */
  savePosition(mailbox: string, uidValidity: string | null, lastUid: number): void;
  /** A check completed: the mailbox was read and `backlog` messages were waiting. */
  recordCheck(mailbox: string, backlog: number, at: number): void;
  recordState(mailbox: string, state: string, at: number): void;
  recordError(mailbox: string, error: string, at: number): void;
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
    list: () => db.select().from(mailboxState).orderBy(asc(mailboxState.mailbox)).all(),
  };
}

/**
 * The same store for a source's bookkeeping, where a write that fails (the disk is full: the
 * very failure the source is reporting) is logged instead of thrown: a source must go on
 * retrying whatever its status rows can record. Positions are not among them: a position
 * that cannot be saved must fail the caller.
 */
export function bestEffort(state: MailboxStateStore, log: Logger): MailboxStateStore {
  const attempt =
    <A extends unknown[]>(what: string, fn: (...args: A) => void) =>
    (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        log.warn({ err: errorMessage(err), what }, 'cannot record the mailbox status');
      }
    };
  return {
    ...state,
    recordCheck: attempt('check', state.recordCheck),
    recordState: attempt('state', state.recordState),
    recordError: attempt('error', state.recordError),
  };
}
