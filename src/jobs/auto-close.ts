import type { Config } from '../config/schema';
import { planChange, type TicketView } from '../pipeline/changes';
import type { Store } from '../store/open';
import { resolvedBefore } from '../store/tickets';
import { runPlan, sqliteWrites, write, type Plan } from '../store/writes';
import type { JobOutcome } from './scheduler';

/** Closes tickets resolved more than `jobs.autoClose.after` ago, with a status event. */
export function autoClose(store: Store, config: Config, now: number): JobOutcome {
  return runPlan(autoClosePlan(resolvedBefore(store.db, now - config.jobs.autoClose.after), config, now), sqliteWrites(store.db));
}

/** What auto-close writes, for any store (store/writes.ts): `due` are the tickets resolved before the cut-off. */
export function* autoClosePlan(due: Array<TicketView & { id: number }>, config: Config, now: number): Plan<JobOutcome> {
  const days = Math.round(config.jobs.autoClose.after / 86_400_000);
  for (const t of due) yield* write('applyChange', t.id, planChange(t, 'status', 'closed', config, now), 'system', now, `resolved more than ${days} days ago (jobs.autoClose)`);
  return { closed: due.length };
}
