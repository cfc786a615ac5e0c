import { asc, eq } from 'drizzle-orm';
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
