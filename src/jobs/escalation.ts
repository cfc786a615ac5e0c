import type { Config } from '../config/schema';
import { planChange, type FieldChange, type TicketView } from '../pipeline/changes';
import { queueOrAdmins } from '../pipeline/stages/notify';
import type { SlaClock, TicketRow } from '../store/tickets';
import { write, type Plan } from '../store/writes';

type Escalation = Config['escalation'][number];

/** What an SLA notice knows of its ticket: a row of either store. */
export type SlaTicket = TicketView & Pick<TicketRow, 'id' | 'ref' | 'subject'>;

/** Whether an escalation's `when` holds for a clock's warning or breach on this ticket. */
export function escalationApplies(e: Escalation, kind: 'warning' | 'breach', clock: SlaClock, t: Pick<TicketRow, 'severity' | 'queue'>): boolean {
  const on = kind === 'breach' ? e.when.breach : e.when.warning;
  if (on === undefined || (on !== 'any' && on !== clock)) return false;
  const list = (v: string | string[] | undefined) => (v === undefined ? null : Array.isArray(v) ? v : [v]);
  const severities = list(e.when.severity);
  const queues = list(e.when.queue);
  return (severities === null || severities.includes(t.severity)) && (queues === null || (t.queue !== null && queues.includes(t.queue)));
}

/**
 * Applies the escalations that match a warning or breach (rules.yaml `escalation`), each
 * once per ticket and clock (an `escalated` event, written in the caller's transaction with
 * the field changes), as a plan of store operations (store/writes.ts). Returns who else is to
 * be told: the `notify` targets, after the changes (the new assignee, the new queue), without
 * those in `told`.
 */
export function* escalatePlan(config: Config, ticket: SlaTicket, kind: 'warning' | 'breach', clock: SlaClock, now: number, told: string[]): Plan<{ name: string; notify: string[] }[]> {
  const out: { name: string; notify: string[] }[] = [];
  for (const e of config.escalation.filter((x) => escalationApplies(x, kind, clock, ticket))) {
    const key = `${e.name} ${kind} ${clock}`;
    if (yield* write('hasEvent', ticket.id, 'escalated', key)) continue;
    const current: TicketView = (yield* write('ticketInfo', ticket.id)) ?? ticket;
    const changes: FieldChange[] = [];
    // One change per field, from the ticket as it is: a later part of `then` replaces an earlier
    // one (`assign: {group}` after `queue:`), and a change back to the current value is none.
    const plan = (field: string, value: string) => {
      const earlier = changes.findIndex((c) => c.field === field);
      if (earlier >= 0) changes.splice(earlier, 1);
      const change = planChange({ ...current, ...Object.fromEntries(changes.map((c) => [c.field, c.to])) }, field, value, config, now);
      if (change.from !== change.to) changes.push(change);
    };
    if (e.then.priority) plan('priority', e.then.priority);
    if (e.then.severity) plan('severity', e.then.severity);
    if (e.then.queue) plan('queue', e.then.queue);
    const assign = e.then.assign;
    if (assign && 'agent' in assign) plan('assignee', assign.agent);
    if (assign && 'group' in assign) {
      plan('queue', assign.group);
      if (current.assignee !== null) plan('assignee', 'none');
    }
    const why = `escalation "${e.name}" (${kind}: ${clock.replace('_', ' ')})`;
    for (const c of changes) yield* write('applyChange', ticket.id, c, 'system', now, why);
    const after: TicketView = (yield* write('ticketInfo', ticket.id)) ?? current;
    const admins = config.agents.filter((a) => a.admin).map((a) => a.email);
    const targets = e.then.notify.flatMap((n) => (n === 'assignee' ? (after.assignee ? [after.assignee] : []) : n === 'queue' ? queueOrAdmins(config, after.queue) : admins));
    const notify = [...new Set(targets)].filter((a) => !told.includes(a));
    told.push(...notify);
    const did = [...changes.map((c) => `${c.field} ${c.to ?? 'none'}`), notify.length > 0 ? `told ${notify.join(', ')}` : null].filter(Boolean).join('; ');
    yield* write('addEvent', { ticketId: ticket.id, at: now, actor: 'system', type: 'escalated', to: key, reason: `${why}: ${did || 'nothing to change'}` });
    out.push({ name: e.name, notify });
  }
  return out;
}
