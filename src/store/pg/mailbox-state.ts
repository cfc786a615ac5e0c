import { and, asc, eq, inArray } from 'drizzle-orm';
import { TAKEN_CHUNK, type MailboxStateRow, type SourceState } from '../mailbox-state';
import type { PgDb } from './reads';
import * as s from './schema';

/**
 * The sources' bookkeeping on PostgreSQL (store/mailbox-state.ts): positions and status rows,
 * each write its own statement. Writes are made one after another, in the order the source
 * made them, so a mailbox's state never goes back to an older one.
 */
export function pgMailboxState(db: PgDb): SourceState & { list(): Promise<MailboxStateRow[]> } {
  let last: Promise<unknown> = Promise.resolve();
  const upsert = (mailbox: string, set: Partial<MailboxStateRow>, at: number): Promise<void> => {
    const run = () => db.insert(s.mailboxState).values({ mailbox, ...set, updatedAt: at }).onConflictDoUpdate({ target: s.mailboxState.mailbox, set: { ...set, updatedAt: at } });
    // After the write before it, whether that one succeeded or not.
    const write = last.then(run, run);
    last = write;
    return write.then(() => undefined);
  };
  return {
    get: async (mailbox) => (await db.select().from(s.mailboxState).where(eq(s.mailboxState.mailbox, mailbox)))[0] ?? null,
    savePosition: (mailbox, uidValidity, lastUid) => upsert(mailbox, { uidValidity, lastUid }, Date.now()),
    recordCheck: (mailbox, backlog, at) => upsert(mailbox, { backlog, lastCheckAt: at }, at),
    recordState: (mailbox, state, at) => upsert(mailbox, { state }, at),
    recordError: (mailbox, error, at) => upsert(mailbox, { lastError: error, lastErrorAt: at }, at),
    taken: async (source, positions) => {
      const found = new Set<string>();
      for (let i = 0; i < positions.length; i += TAKEN_CHUNK) {
        const rows = await db.select({ position: s.inbound.position }).from(s.inbound).where(and(eq(s.inbound.source, source), inArray(s.inbound.position, positions.slice(i, i + TAKEN_CHUNK))));
        for (const r of rows) if (r.position !== null) found.add(r.position);
      }
      return found;
    },
    list: () => db.select().from(s.mailboxState).orderBy(asc(s.mailboxState.mailbox)),
  };
}
