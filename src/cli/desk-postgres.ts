import { and, eq, inArray } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Config } from '../config/schema';
import { runOnPostgres } from '../jobs/cluster-scheduler';
import { errorMessage } from '../lib/errors';
import { silentLogger } from '../lib/log';
import { categoryModelCache } from '../pipeline/category-model';
import { pgApplyStaffChange } from '../pipeline/pg-staff-change';
import { pgStoreReader } from '../pipeline/pg-store-reader';
import { pgSearchTickets } from '../search/pg-tickets';
import { openPgPool, pgTimeouts } from '../store/pg/pool';
import { categorySource, spamCounts, spamTotals } from '../store/pg/reads';
import * as s from '../store/pg/schema';
import { pgLearnCorrection, pgSpamLearn } from '../store/pg/spam';
import { inPgTransaction } from '../store/pg/transaction';
import { pgView } from '../store/pg/views';
import type { CliDesk } from './desk';
import { CliExit, EXIT } from './exit-codes';

/** A staff command's desk on PostgreSQL (cli/desk.ts): unreachable is a temporary failure, the password never shown. */
export async function pgCliDesk(config: Config, url: string): Promise<CliDesk> {
  // A staff command may read a large desk in one statement (the report's rows): a statement
  // waits longer than a daemon's before it counts as a stalled network.
  const pool = await openPgPool(url, silentLogger(), 2, pgTimeouts(config.limits.processingTime, { queryMs: 15 * 60_000 })).catch((err: unknown) => {
    throw new CliExit(EXIT.TEMPFAIL, errorMessage(err));
  });
  const db = drizzle(pool, { schema: s });
  return {
    config,
    view: pgView(db),
    staffChange: (ticket, change, actor, at, reason) => pgApplyStaffChange(pool, config, ticket, change, actor, at, reason),
    learnCorrection: (ticketId, label, at) => inPgTransaction(pool, (db) => pgLearnCorrection(db, ticketId, label, at)),
    retryOutbox: (id, at) =>
      inPgTransaction(pool, async (db) => {
        const [found] = await db.select({ row: s.outbox, ref: s.tickets.ref }).from(s.outbox).leftJoin(s.tickets, eq(s.tickets.id, s.outbox.ticketId)).where(eq(s.outbox.id, id)).for('update', { of: s.outbox });
        if (!found) return null;
        const done = await db
          .update(s.outbox)
          .set({ status: 'pending', nextAttemptAt: at, lastError: null })
          .where(and(eq(s.outbox.id, id), inArray(s.outbox.status, ['failed', 'bounced'])))
          .returning({ id: s.outbox.id });
        return { row: { ...found.row, ref: found.ref }, requeued: done.length > 0 };
      }),
    runJob: async (name, log) => {
      const started = Date.now();
      const outcome = await runOnPostgres(pool, name, config, started);
      if (outcome) log.info({ job: name, ms: Date.now() - started, ...outcome }, 'job finished');
      return outcome;
    },
    searchTickets: (query, limit) => pgSearchTickets(db, config, query, limit),
    reader: pgStoreReader(db, config),
    categoryModel: () => categoryModelCache(categorySource(db)).current(),
    spamModel: {
      learn: (key, label, tokens, at) => inPgTransaction(pool, (tx) => pgSpamLearn(tx, key, label, tokens, at)),
      totals: () => spamTotals(db),
      counts: (tokens) => spamCounts(db, tokens),
    },
    close: () => pool.end(),
  };
}
