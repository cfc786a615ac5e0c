import cron, { type ScheduledTask } from 'node-cron';
import type { Pool } from 'pg';
import { claimJobTick, tickOf } from '../cluster/job-ticks';
import type { Config } from '../config/schema';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { digestFigures, resolvedBefore, slaCandidates, type PgDb } from '../store/pg/reads';
import { inPgTransaction } from '../store/pg/transaction';
import { pgWrites } from '../store/pg/writes';
import { runPlanAsync } from '../store/writes';
import { autoClosePlan } from './auto-close';
import { DIGEST_DAY, digestPlan } from './digest';
import type { JobName, JobOutcome } from './scheduler';
import { SLA_CLOCKS, slaNoticePlan, slaTally } from './sla-check';

/**
 * The jobs that run on PostgreSQL (docs/CLUSTER.md), each in one transaction: the plans
 * SQLite runs, on PostgreSQL's reads and writes. Backup is PostgreSQL's own (pg_dump, WAL).
 */
const ON_POSTGRES: Partial<Record<JobName, (db: PgDb, config: Config, now: number) => Promise<JobOutcome>>> = {
  autoClose: async (db, config, now) => runPlanAsync(autoClosePlan(await resolvedBefore(db, now - config.jobs.autoClose.after), config, now), pgWrites(db)),
  slaCheck: async (db, config, now) => {
    const tally = slaTally();
    for (const clock of SLA_CLOCKS) {
      for (const t of await slaCandidates(db, now, config.jobs.slaCheck.warnAt, clock)) tally.add(await runPlanAsync(slaNoticePlan(config, t, clock, now), pgWrites(db)));
    }
    return tally.outcome();
  },
  digest: async (db, config, now) => runPlanAsync(digestPlan(await digestFigures(db, now, now - DIGEST_DAY), config, now), pgWrites(db)),
};

/**
 * Runs a job now on PostgreSQL, in one transaction, without claiming a tick (`helpdesk jobs
 * run`, as on SQLite). Null for a job that does not run there (backup).
 */
export async function runOnPostgres(pool: Pool, name: JobName, config: Config, now: number): Promise<JobOutcome | null> {
  const job = ON_POSTGRES[name];
  return job ? inPgTransaction(pool, (db) => job(db, config, now)) : null;
}

export interface ClusterScheduler {
  /** The tick of `name` scheduled at `at`: run here when this daemon claims it first, else 'skipped'. */
  tick(name: JobName, at: number): Promise<JobOutcome | 'skipped'>;
  stop(): Promise<void>;
}

/**
 * The scheduled jobs of a daemon on PostgreSQL: every daemon's cron fires, and the one that
 * claims the tick (cluster/job-ticks.ts) runs the job, so each tick runs once across the
 * cluster. No catch-up at start (which daemon's start would it be?): a tick missed while every
 * daemon was down is made up by the next one for auto-close and the SLA check, whose cut-offs
 * are dates, not runs; a digest whose time passed while every daemon was down is not sent.
 */
export function startClusterScheduler(o: { pool: Pool; config: () => Config; log: Logger; holder: string; now?: () => number; onEnqueued?: () => void }): ClusterScheduler {
  const now = o.now ?? Date.now;
  const tasks: ScheduledTask[] = [];
  const running = new Set<Promise<unknown>>();

  const tick = async (name: JobName, at: number): Promise<JobOutcome | 'skipped'> => {
    if (!ON_POSTGRES[name] || !(await claimJobTick(o.pool, name, tickOf(at), o.holder))) return 'skipped';
    const started = now();
    const outcome = await runOnPostgres(o.pool, name, o.config(), started);
    if (!outcome) return 'skipped';
    o.log.info({ job: name, ms: now() - started, ...outcome }, 'job finished');
    o.onEnqueued?.();
    return outcome;
  };

  const initial = o.config();
  for (const name of Object.keys(ON_POSTGRES) as JobName[]) {
    const settings = initial.jobs[name];
    if (!settings.enabled) continue;
    tasks.push(
      cron.schedule(
        settings.schedule,
        () => {
          const run = tick(name, now())
            .catch((err: unknown) => o.log.error({ job: name, error: errorMessage(err) }, 'job failed'))
            .finally(() => running.delete(run));
          running.add(run);
        },
        { timezone: initial.helpdesk.timezone, name },
      ),
    );
  }

  return {
    tick,
    async stop() {
      for (const t of tasks) await t.stop();
      await Promise.allSettled([...running]);
    },
  };
}
