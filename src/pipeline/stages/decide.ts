import type { Stage } from '../types';

/**
 * For a message that starts a ticket: its initial fields and SLA due date, each with the
 * reason it has that value. Routing rules (config/rules.yaml) refine these in their own stage.
 */
export const decide: Stage = {
  name: 'decide',
  run(draft, ctx) {
    if (!draft.mail || !draft.thread || draft.thread.ticket) return {};
    const d = ctx.config.defaults;
    const slaMs = ctx.config.sla[d.severity];
    return {
      newTicket: {
        subject: draft.mail.subject || '(no subject)',
        status: 'new',
        priority: d.priority,
        severity: d.severity,
        category: d.category,
        queue: d.queue,
        dueAt: draft.receivedAt + slaMs,
        reasons: {
          priority: 'defaults.priority',
          severity: 'defaults.severity',
          category: 'defaults.category',
          queue: 'defaults.queue',
          dueAt: `sla.${d.severity} (${Math.round(slaMs / 60000)} min) from arrival`,
        },
      },
    };
  },
};
