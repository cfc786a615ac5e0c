import type { Config } from '../config/schema';
import { planChange } from '../pipeline/changes';
import type { Store } from '../store/open';
import { applyChange, resolvedBefore } from '../store/tickets';
import type { JobOutcome } from './scheduler';

/** Closes tickets resolved more than `jobs.autoClose.after` ago, with a status event. */
export function autoClose(store: Store, config: Config, now: number): JobOutcome {
  const after = config.jobs.autoClose.after;
  const due = resolvedBefore(store.db, now - after);
  for (const t of due) {
    applyChange(store.db, t.id, planChange(t, 'status', 'closed', config, now), 'system', now, `resolved more than ${Math.round(after / 86_400_000)} days ago (jobs.autoClose)`);
  }
  return { closed: due.length };
}
