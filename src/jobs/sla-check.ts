import type { Config } from '../config/schema';
import { enqueuePlan, secretPlan } from '../pipeline/enqueue';
import { notificationData, queueOrAdmins } from '../pipeline/stages/notify';
import type { Store } from '../store/open';
import { slaCandidates, type SlaClock } from '../store/tickets';
import { runPlan, sqliteWrites, write, type Plan } from '../store/writes';
import { escalatePlan, type SlaTicket } from './escalation';
import type { JobOutcome } from './scheduler';

const CLOCK_WORDS: Record<SlaClock, string> = { first_response: 'first response', resolution: 'resolution' };

/** Both clocks, in the order the job looks at them. */
export const SLA_CLOCKS: readonly SlaClock[] = ['first_response', 'resolution'];

/**
 * SLA warnings and breaches for both clocks of a ticket (README "Scheduled jobs"): the first
 * response (where the severity has a target) and the resolution. Past `jobs.slaCheck.warnAt`
 * of a clock's time one `sla_warning` goes to the assignee (else the queue, else the admins);
 * past its due time one `sla_breach` to the assignee and the queue's admins (else all
 * admins), in the ticket's thread. Each once per ticket, clock and severity: the event that
 * records it is written in the same transaction as the outbox rows, so a restart or an
 * overlapping run never sends it twice. A paused clock (pending) neither warns nor breaches.
 * Matching escalations (rules.yaml `escalation`, escalation.ts) are applied in the same
 * transaction, once each, and their `notify` targets get the same mail. On SQLite each
 * ticket's notice is its own transaction; on PostgreSQL the job's (jobs/cluster-scheduler.ts).
 */
export function slaCheck(store: Store, config: Config, now: number): JobOutcome {
  const tally = slaTally();
  for (const clock of SLA_CLOCKS) {
    for (const t of slaCandidates(store.db, now, config.jobs.slaCheck.warnAt, clock)) {
      tally.add(store.db.transaction((tx) => runPlan(slaNoticePlan(config, t, clock, now), sqliteWrites(tx)), { behavior: 'immediate' }));
    }
  }
  return tally.outcome();
}

/** The job's outcome: how many warnings and breaches were sent. */
export function slaTally() {
  let warnings = 0;
  let breaches = 0;
  return {
    add(sent: 'sla_warning' | 'sla_breach' | null) {
      if (sent === 'sla_warning') warnings++;
      if (sent === 'sla_breach') breaches++;
    },
    outcome: (): JobOutcome => ({ warnings, breaches }),
  };
}

/**
 * One ticket's warning or breach of one clock, for any store (store/writes.ts): nothing when it
 * was sent before; else the escalations, the mail to everyone told, and the event recording
 * it. Returns what was sent.
 */
export function* slaNoticePlan(config: Config, t: SlaTicket, clock: SlaClock, now: number): Plan<'sla_warning' | 'sla_breach' | null> {
  const warnAt = config.jobs.slaCheck.warnAt;
  const dueAt = (clock === 'first_response' ? t.firstResponseDueAt : t.dueAt) as number;
  const breached = dueAt <= now;
  const type = breached ? 'sla_breach' : 'sla_warning';
  const key = `${clock}:${t.severity}`;
  if (yield* write('hasEvent', t.id, type, key)) return null;
  const told = breached ? breachRecipients(config, t) : t.assignee ? [t.assignee] : queueOrAdmins(config, t.queue);
  // Escalations change the ticket first, so the mail shows it as it now is, and add whom they notify.
  const escalations = yield* escalatePlan(config, t, breached ? 'breach' : 'warning', clock, now, [...told]);
  const recipients = [...told, ...escalations.flatMap((e) => e.notify)];
  const info = yield* write('ticketInfo', t.id);
  if (!info) return null;
  const secret = yield* secretPlan(config);
  const quoted = yield* write('lastCustomerMessage', t.id);
  const sla = { clock, dueAt, escalations: escalations.map((e) => e.name) };
  for (const to of recipients) {
    yield* enqueuePlan(config, {
      mail: { template: type, to, locale: config.helpdesk.locale, reason: `${type} (${CLOCK_WORDS[clock]}) for severity ${t.severity}${escalations.length > 0 ? `; escalated: ${escalations.map((e) => e.name).join(', ')}` : ''}`, subject: t.subject, data: { ...notificationData(config, info, quoted, now, to), sla } },
      ticket: { id: t.id, ref: t.ref },
      // In the ticket's thread: an answer to the customer's latest message, as the other notices.
      inReplyTo: quoted?.messageId ?? null,
      references: quoted ? [...quoted.references, quoted.messageId] : [],
      secret,
      at: now,
    });
  }
  const due = new Date(dueAt).toISOString();
  yield* write('addEvent', { ticketId: t.id, at: now, actor: 'system', type, to: key, reason: `${CLOCK_WORDS[clock]}: ${breached ? 'due' : `${Math.round(warnAt * 100)}% of the time to`} ${due} passed; told ${recipients.join(', ') || 'nobody'}` });
  return type;
}

/** The assignee and the admins of the ticket's queue; all admins when the queue has none. */
function breachRecipients(config: Config, t: Pick<SlaTicket, 'assignee' | 'queue'>): string[] {
  const admins = config.agents.filter((a) => a.admin);
  const group = t.queue ? config.groups.find((g) => g.name === t.queue) : undefined;
  const queueAdmins = group ? admins.filter((a) => group.members.includes(a.email) || a.groups.includes(group.name)) : [];
  return [...new Set([...(t.assignee ? [t.assignee] : []), ...(queueAdmins.length > 0 ? queueAdmins : admins).map((a) => a.email)])];
}
