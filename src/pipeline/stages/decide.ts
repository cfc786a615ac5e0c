import { dueDate, firstResponseDue } from '../sla';
import type { Stage } from '../types';

/**
 * The fields of a ticket a message starts, from the route and assign decisions, and its
 * SLA due times: resolution, and first response where the severity has a target (../sla.ts).
 */
export const decide: Stage = {
  name: 'decide',
  run(draft, ctx) {
    const { mail, thread, route, assignment } = draft;
    if (!mail || !thread || thread.ticket || !route || !assignment) return {};
    const customer = route.customer;
    // A valid contract's level sets the SLA targets; an expired one is recorded, not used.
    const level = customer?.contractValid ? customer.level : null;
    const due = dueDate(draft.receivedAt, route.severity.value, ctx.config, level);
    const firstDue = firstResponseDue(draft.receivedAt, route.severity.value, ctx.config, level);
    return {
      newTicket: {
        subject: mail.subject.trim() ? mail.subject : '(no subject)',
        // Spam is kept (searchable, correctable) but never worked on or answered.
        status: draft.spam?.verdict === 'spam' ? 'spam' : 'new',
        priority: route.priority.value,
        severity: route.severity.value,
        category: route.category.value,
        categorySource: route.category.source,
        queue: route.queue.value,
        assignee: assignment.assignee,
        tags: route.tags,
        spamVerdict: draft.spam?.verdict ?? null,
        spamScore: draft.spam?.score ?? null,
        dueAt: due.at,
        firstResponseDueAt: firstDue?.at ?? null,
        organisation: customer?.organisation ?? null,
        contract: customer?.contract ?? null,
        slaLevel: level,
        reasons: {
          customer: customer?.reason ?? 'no organisation (config/customers.yaml)',
          rules: route.rules.length > 0 ? route.rules.map((r) => r.name).join(', ') : 'none matched',
          category: route.category.reason,
          priority: route.priority.reason,
          severity: route.severity.reason,
          queue: route.queue.reason,
          assignee: assignment.reason,
          spam: draft.spam ? `${draft.spam.verdict}: ${draft.spam.reason}` : 'not classified',
          dueAt: due.reason,
          firstResponseDueAt: firstDue?.reason ?? `no sla.firstResponse.${route.severity.value}`,
        },
      },
    };
  },
};
