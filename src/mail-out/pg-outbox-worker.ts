import { and, asc, eq, getTableColumns, lte, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool } from 'pg';
import type { OutboxEntry } from '../store/outbox';
import { readBlob } from '../store/pg/blobs';
import type { PgDb } from '../store/pg/reads';
import * as s from '../store/pg/schema';
import { inPgTransaction } from '../store/pg/transaction';
import { pgWrites } from '../store/pg/writes';
import { runPlanAsync } from '../store/writes';
import type { Config } from '../config/schema';
import { suggestionsFor } from '../knowledge/suggest';
import { pgSimilarResolved } from '../search/pg-similar';
import { attemptPlan, deliver, pauseIfServerWide, type Attempt } from './deliver';
import { workerLoop, type OutboxWorker, type WorkerOptions } from './outbox-worker';

export interface PgOutboxWorkerOptions extends WorkerOptions {
  pool: Pool;
}

/**
 * The outbox worker on PostgreSQL (docs/CLUSTER.md): the same delivery (deliver.ts) and loop
 * as SQLite's, each row claimed by sendOneClaimed, so several daemons send from one outbox and
 * each mail goes once. The files a row carries are read from `blobs`; suggestions in notices
 * are looked up in PostgreSQL's full-text index (search/pg-similar.ts).
 */
export function pgOutboxWorker(options: PgOutboxWorkerOptions): OutboxWorker {
  const now = options.now ?? Date.now;
  const db = drizzle(options.pool, { schema: s });
  return workerLoop(options, {
    async drainOnce(stopped) {
      let count = 0;
      while (!stopped()) {
        // What became of the claimed row, for the pause when it failed server-wide.
        const sent: { attempt?: Attempt } = {};
        const claimed = await sendOneClaimed(options.pool, now(), async (row) =>
          (sent.attempt = await deliver(row, {
            config: options.config(),
            templates: options.templates,
            transport: options.transport,
            log: options.log,
            now,
            files: (paths) => blobsOf(db, paths),
            suggest: (request, ticketId) => suggestionsFor((question, exclude, limit) => pgSimilarResolved(db, question, exclude, limit), options.config(), request, ticketId),
          })),
          options.config(),
        );
        if (!claimed) break;
        count++;
        if (sent.attempt) pauseIfServerWide(sent.attempt);
      }
      return count;
    },
    async nextDue() {
      const [row] = await db.select({ at: sql<string | null>`min(${s.outbox.nextAttemptAt})` }).from(s.outbox).where(eq(s.outbox.status, 'pending'));
      return row?.at == null ? null : Number(row.at);
    },
  });
}

/** The files a row carries, read before it is composed; a path with no blob fails the row (as a missing file does on SQLite). */
async function blobsOf(db: PgDb, paths: string[]): Promise<(path: string) => Buffer> {
  const found = new Map<string, Buffer>();
  for (const p of new Set(paths)) {
    const bytes = await readBlob(db, p);
    if (bytes) found.set(p, bytes);
  }
  return (p) => {
    const bytes = found.get(p);
    if (!bytes) throw new Error(`${p} is not in the store's blobs`);
    return bytes;
  };
}

/**
 * Several daemons send from one outbox (issue #25), each mail once: a sender claims the
 * oldest due row with `FOR UPDATE SKIP LOCKED` (as graphile-worker claims jobs), so the
 * others pass over it, sends it while it holds the row lock, and records what happened (the
 * row's status, the ticket's event: deliver.ts attemptEvents) in the same transaction.
 * A sender that dies mid-send loses its connection, PostgreSQL drops the lock and rolls the
 * claim back, and another sender sends the row again with the same Message-ID: at least once,
 * recognisably the same, as with one daemon. No claim column is needed, and none is left
 * behind by a crash.
 *
 * `config` (the daemon's) lets a relayed reply that failed for good be told to its agent;
 * without it (the claiming tests) only the ticket's event is written.
 * Resolves to false when no row is due (or every due row is being sent by someone else).
 * A `send` that throws rolls the claim back and the error goes to the caller.
 */
export async function sendOneClaimed(pool: Pool, now: number, send: (row: OutboxEntry) => Promise<Attempt>, config: Config | null = null): Promise<boolean> {
  return inPgTransaction(pool, async (db) => {
    const [row] = await db
      .select({ ...getTableColumns(s.outbox), ref: s.tickets.ref })
      .from(s.outbox)
      .leftJoin(s.tickets, eq(s.tickets.id, s.outbox.ticketId))
      .where(and(eq(s.outbox.status, 'pending'), lte(s.outbox.nextAttemptAt, now)))
      .orderBy(asc(s.outbox.nextAttemptAt), asc(s.outbox.id))
      .limit(1)
      .for('update', { of: s.outbox, skipLocked: true });
    if (!row) return false;
    const attempt = await send(row);
    const attempts = sql`${s.outbox.attempts} + 1`;
    if (attempt.sent) await db.update(s.outbox).set({ status: 'sent', sentAt: attempt.at, subject: attempt.subject, attempts, lastError: null }).where(eq(s.outbox.id, row.id));
    else if (attempt.retryAt !== null) await db.update(s.outbox).set({ attempts, lastError: attempt.error, nextAttemptAt: attempt.retryAt }).where(eq(s.outbox.id, row.id));
    else await db.update(s.outbox).set({ status: 'failed', attempts, lastError: attempt.error, nextAttemptAt: null }).where(eq(s.outbox.id, row.id));
    await runPlanAsync(attemptPlan(config, row, attempt, now), pgWrites(db));
    return true;
  });
}
