import type { Config } from '../config/schema';
import { enqueueMail } from '../pipeline/enqueue';
import { queueOrAdmins, notificationData } from '../pipeline/stages/notify';
import { messageIdSecret } from '../pipeline/store-reader';
import type { Store } from '../store/open';
import { lastCustomerMessage } from '../store/messages';
import { addEvent, hasEvent, slaCandidates, ticketInfo, type SlaClock, type TicketRow } from '../store/tickets';
import { escalate } from './escalation';
import type { JobOutcome } from './scheduler';

const CLOCK_WORDS: Record<SlaClock, string> = { first_response: 'first response', resolution: 'resolution' };

/**
 * SLA warnings and breaches for both clocks of a ticket (README "Scheduled jobs"): the first
 * response (where the severity has a target) and the resolution. Past `jobs.slaCheck.warnAt`
 * of a clock's time one `sla_warning` goes to the assignee (else the queue, else the admins);
 * past its due time one `sla_breach` to the assignee and the queue's admins (else all
 * admins), in the ticket's thread. Each once per ticket, clock and severity: the event that
 * records it is written in the same transaction as the outbox rows, so a restart or an
 * overlapping run never sends it twice. A paused clock (pending) neither warns nor breaches.
 * Matching escalations (rules.yaml `escalation`, escalation.ts) are applied in the same
 * transaction, once each, and their `notify` targets get the same mail.
 */
export function slaCheck(store: Store, config: Config, now: number): JobOutcome {
  const warnAt = config.jobs.slaCheck.warnAt;
  let warnings = 0;
  let breaches = 0;
  for (const clock of ['first_response', 'resolution'] as const) {
    for (const t of slaCandidates(store.db, now, warnAt, clock)) {
      const dueAt = (clock === 'first_response' ? t.firstResponseDueAt : t.dueAt) as number;
      const breached = dueAt <= now;
      const type = breached ? 'sla_breach' : 'sla_warning';
      const key = `${clock}:${t.severity}`;
      store.db.transaction(
        (tx) => {
          if (hasEvent(tx, t.id, type, key)) return;
          const told = breached ? breachRecipients(config, t) : t.assignee ? [t.assignee] : queueOrAdmins(config, t.queue);
          // Escalations change the ticket first, so the mail shows it as it now is, and add whom they notify.
          const escalations = escalate(tx, config, t, breached ? 'breach' : 'warning', clock, now, [...told]);
          const recipients = [...told, ...escalations.flatMap((e) => e.notify)];
          const info = ticketInfo(tx, t.id);
          if (!info) return;
          const secret = messageIdSecret(config, tx);
          const quoted = lastCustomerMessage(tx, t.id);
          const sla = { clock, dueAt, escalations: escalations.map((e) => e.name) };
          for (const to of recipients) {
            enqueueMail(tx, config, {
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
          addEvent(tx, { ticketId: t.id, at: now, actor: 'system', type, to: key, reason: `${CLOCK_WORDS[clock]}: ${breached ? 'due' : `${Math.round(warnAt * 100)}% of the time to`} ${due} passed; told ${recipients.join(', ') || 'nobody'}` });
          if (breached) breaches++;
          else warnings++;
        },
        { behavior: 'immediate' },
      );
    }
  }
  return { warnings, breaches };
}

/** The assignee and the admins of the ticket's queue; all admins when the queue has none. */
function breachRecipients(config: Config, t: TicketRow): string[] {
  const admins = config.agents.filter((a) => a.admin);
  const group = t.queue ? config.groups.find((g) => g.name === t.queue) : undefined;
  const queueAdmins = group ? admins.filter((a) => group.members.includes(a.email) || a.groups.includes(group.name)) : [];
  return [...new Set([...(t.assignee ? [t.assignee] : []), ...(queueAdmins.length > 0 ? queueAdmins : admins).map((a) => a.email)])];
}
