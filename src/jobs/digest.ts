import type { Config } from '../config/schema';
import { enqueueForAdmins } from '../pipeline/enqueue';
import type { Store } from '../store/open';
import { digestFigures } from '../store/tickets';
import type { JobOutcome } from './scheduler';

/** The daily digest to every admin: new, open, overdue and unassigned tickets, by queue. */
export function digest(store: Store, config: Config, now: number): JobOutcome {
  const queues = digestFigures(store.db, now, now - 86_400_000).filter((q) => q.open + q.created > 0);
  const total = queues.reduce((t, q) => ({ open: t.open + q.open, overdue: t.overdue + q.overdue, unassigned: t.unassigned + q.unassigned, created: t.created + q.created }), { open: 0, overdue: 0, unassigned: 0, created: 0 });
  // The subject sent is digest.subject.hbs in the admins' language (the row keeps it once
  // sent); this one is the fallback, and the row's until then.
  const subject = `Daily digest: ${total.open} open, ${total.overdue} overdue`;
  const admins = enqueueForAdmins(store.db, config, { template: 'digest', subject, reason: 'daily digest', data: { total, queues: queues.map((q) => ({ ...q, queue: q.queue ?? '-' })), at: now } }, now);
  return { admins, ...total };
}
