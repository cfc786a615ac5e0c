import type { Config } from '../config/schema';
import { enqueueMail } from '../pipeline/enqueue';
import { queueOrAdmins, notificationData } from '../pipeline/stages/notify';
import { messageIdSecret } from '../pipeline/store-reader';
import type { Store } from '../store/open';
import { lastCustomerMessage } from '../store/messages';
import { addEvent, hasEvent, slaCandidates, ticketInfo, type TicketRow } from '../store/tickets';
import type { JobOutcome } from './scheduler';

/**
 * SLA warning and breach (issue #7): an unanswered ticket (new or open, no first response)
 * past `jobs.slaCheck.warnAt` of its time to the due date gets one `sla_warning` mail to the
 * assignee (else the queue, else the admins); past its due date one `sla_breach` to the
 * assignee and the queue's admins (else all admins). Each is sent once per ticket and
 * severity: the event that records it is written in the same transaction as the outbox rows,
 * so a restart or an overlapping run never sends it twice.
 */
export function slaCheck(store: Store, config: Config, now: number): JobOutcome {
  const warnAt = config.jobs.slaCheck.warnAt;
  let warnings = 0;
  let breaches = 0;
  for (const t of slaCandidates(store.db, now, warnAt)) {
    const breached = t.dueAt !== null && t.dueAt <= now;
    const type = breached ? 'sla_breach' : 'sla_warning';
    store.db.transaction(
      (tx) => {
        if (hasEvent(tx, t.id, type, t.severity)) return;
        const recipients = breached ? breachRecipients(config, t) : t.assignee ? [t.assignee] : queueOrAdmins(config, t.queue);
        const info = ticketInfo(tx, t.id);
        if (!info) return;
        const secret = messageIdSecret(config, tx);
        const quoted = lastCustomerMessage(tx, t.id);
        for (const to of recipients) {
          enqueueMail(tx, config, {
            mail: { template: type, to, locale: config.helpdesk.locale, reason: `${type} for severity ${t.severity}`, subject: t.subject, data: notificationData(config, info, quoted, now, to) },
            ticket: { id: t.id, ref: t.ref },
            inReplyTo: null,
            references: [],
            secret,
            at: now,
          });
        }
        const due = new Date(t.dueAt as number).toISOString();
        addEvent(tx, { ticketId: t.id, at: now, actor: 'system', type, to: t.severity, reason: `${breached ? 'due' : `${Math.round(warnAt * 100)}% of the time to`} ${due} passed; told ${recipients.join(', ') || 'nobody'}` });
        if (breached) breaches++;
        else warnings++;
      },
      { behavior: 'immediate' },
    );
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
