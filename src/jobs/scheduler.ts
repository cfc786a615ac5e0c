import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config/schema';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Store } from '../store/open';
import { getValue, setValue } from '../store/key-value';
import { autoClose } from './auto-close';
import { backup } from './backup';
import { digest } from './digest';
import { slaCheck } from './sla-check';

/** What a job reports about its run (logged, and returned by `runJob`). */
export type JobOutcome = Record<string, unknown>;

export type JobName = 'slaCheck' | 'autoClose' | 'digest' | 'backup';

interface JobDef {
  run(store: Store, config: Config, now: number): JobOutcome | Promise<JobOutcome>;
  /** Run once at start when the last run is older than this (missed while the daemon was down). */
  catchUpAfter: number | null;
}

export const JOBS: Record<JobName, JobDef> = {
  // Warnings and breaches are time-critical: always checked at start.
  slaCheck: { run: slaCheck, catchUpAfter: 0 },
  autoClose: { run: autoClose, catchUpAfter: 0 },
  // A digest missed is not sent late; the next one comes on schedule.
  digest: { run: digest, catchUpAfter: null },
  // A backup is made at start when the last one is more than a day old.
  backup: { run: backup, catchUpAfter: 86_400_000 },
};

export interface Scheduler {
  /** Settles when the catch-up runs at start have finished. */
  started: Promise<void>;
  /** Runs a job now (skipped when it is already running); resolves to its outcome. */
  run(name: JobName): Promise<JobOutcome | 'skipped'>;
  stop(): Promise<void>;
}

const lastRunKey = (name: JobName) => `job:${name}:last_run`;

/** Runs one job now: logs its start, end and outcome, and records when it ran. */
export async function runJob(name: JobName, store: Store, config: Config, log: Logger, now: () => number = Date.now): Promise<JobOutcome> {
  const started = now();
  log.info({ job: name }, 'job started');
  try {
    // In the store's write turn: a job's writes never land in the intake's batch.
    const outcome = await store.turn(async () => {
      const result = await JOBS[name].run(store, config, started);
      setValue(store.db, lastRunKey(name), String(started));
      return result;
    });
    log.info({ job: name, ms: now() - started, ...outcome }, 'job finished');
    return outcome;
  } catch (err) {
    log.error({ job: name, err, error: errorMessage(err) }, 'job failed');
    throw err;
  }
}

/**
 * The scheduled jobs (README "Scheduled jobs"), on node-cron in the help desk's time zone. A job
 * never overlaps itself (a tick that finds it running is skipped and logged); each run logs
 * its start, end and outcome and records when it ran, so a job missed while the daemon was
 * down runs once at start where that matters (SLA checks, auto-close, a stale backup).
 */
export function startScheduler(store: Store, config: () => Config, log: Logger, options: { now?: () => number; onEnqueued?: () => void } = {}): Scheduler {
  const now = options.now ?? Date.now;
  const running = new Map<JobName, Promise<JobOutcome>>();
  const tasks: ScheduledTask[] = [];

  const run = async (name: JobName): Promise<JobOutcome | 'skipped'> => {
    if (running.has(name)) {
      log.warn({ job: name }, 'job still running; this run is skipped');
      return 'skipped';
    }
    const p = runJob(name, store, config(), log, now);
    running.set(name, p);
    try {
      const outcome = await p;
      options.onEnqueued?.();
      return outcome;
    } finally {
      running.delete(name);
    }
  };
  const safely = (name: JobName) => run(name).catch(() => undefined);

  const catchUps: Promise<unknown>[] = [];
  const initial = config();
  for (const name of Object.keys(JOBS) as JobName[]) {
    const settings = initial.jobs[name];
    if (!settings.enabled) {
      log.info({ job: name }, 'job disabled in config');
      continue;
    }
    tasks.push(cron.schedule(settings.schedule, () => void safely(name), { timezone: initial.helpdesk.timezone, name }));
    const after = JOBS[name].catchUpAfter;
    const last = Number(getValue(store.db, lastRunKey(name)) ?? 0);
    if (after !== null && now() - last > after) catchUps.push(safely(name));
  }

  return {
    started: Promise.allSettled(catchUps).then(() => undefined),
    run,
    async stop() {
      for (const t of tasks) await t.stop();
      await Promise.allSettled([...running.values()]);
    },
  };
}
