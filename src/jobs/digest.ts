import type { Config } from '../config/schema';
import { enqueueForAdminsPlan } from '../pipeline/enqueue';
import type { Store } from '../store/open';
import { digestFigures, type DigestQueue } from '../store/tickets';
import { runPlan, sqliteWrites, type Plan } from '../store/writes';
import type { JobOutcome } from './scheduler';

/** The digest's window: tickets created in the last day count as new. */
export const DIGEST_DAY = 86_400_000;

/** The daily digest to every admin: new, open, overdue and unassigned tickets, by queue. */
export function digest(store: Store, config: Config, now: number): JobOutcome {
  const figures = digestFigures(store.db, now, now - DIGEST_DAY);
  return store.db.transaction((tx) => runPlan(digestPlan(figures, config, now), sqliteWrites(tx)));
}

/** What the digest writes, for any store (store/writes.ts): `figures` per queue from digestFigures. */
export function* digestPlan(figures: DigestQueue[], config: Config, now: number): Plan<JobOutcome> {
  const queues = figures.filter((q) => q.open + q.created > 0);
  const total = queues.reduce((t, q) => ({ open: t.open + q.open, overdue: t.overdue + q.overdue, unassigned: t.unassigned + q.unassigned, created: t.created + q.created }), { open: 0, overdue: 0, unassigned: 0, created: 0 });
  // The subject sent is digest.subject.hbs in the admins' language (the row keeps it once
  // sent); this one is the fallback, and the row's until then.
  const subject = `Daily digest: ${total.open} open, ${total.overdue} overdue`;
  const admins = yield* enqueueForAdminsPlan(config, { template: 'digest', subject, reason: 'daily digest', data: { total, queues: queues.map((q) => ({ ...q, queue: q.queue ?? '-' })), at: now } }, now);
  return { admins, ...total };
}
