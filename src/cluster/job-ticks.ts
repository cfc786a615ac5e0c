import { DB_NOW_MS, type Queryable } from './leases';

/** How long a claim is kept: far longer than any clock difference between daemons. */
const KEEP_MS = 7 * 86_400_000;

/**
 * Scheduled jobs run once across the cluster per tick (issue #25): every daemon's scheduler
 * fires at the same cron time, and the first to claim the tick (job name and the scheduled
 * minute) runs it; the others skip it. The claim is an insert into `job_runs`, whose
 * primary key is (job, tick): PostgreSQL lets exactly one insert through. The same statement
 * forgets the job's claims older than a week, so the table stays small.
 */
export async function claimJobTick(db: Queryable, job: string, tick: number, holder: string): Promise<boolean> {
  const r = await db.query(
    `WITH forgotten AS (DELETE FROM job_runs WHERE job = $1 AND tick < $2::bigint - $4::bigint)
     INSERT INTO job_runs (job, tick, holder, started_at) VALUES ($1, $2, $3, ${DB_NOW_MS}) ON CONFLICT DO NOTHING`,
    [job, tick, holder, KEEP_MS],
  );
  return r.rowCount === 1;
}

/**
 * The scheduled minute a cron firing at `at` belongs to (the nearest one: cron fires at
 * second 0), so daemons whose clocks or timers are up to 30 s apart claim the same tick.
 */
export function tickOf(at: number): number {
  return Math.round(at / 60_000) * 60_000;
}
