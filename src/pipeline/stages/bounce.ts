import { readBounce } from '../bounce-report';
import type { Stage } from '../types';

/**
 * A bounce is matched to the outbox row it reports on, by the original Message-ID (README "Loop and bounce protection";
 * "No mail loops"; issue #5): the row is marked bounced and the ticket gets an event, but no
 * bounce ever starts a ticket or a notification. An unmatched bounce with no ticket to join
 * is kept and recorded as `ignored` by the thread stage. A report about a recipient other
 * than the one our message went to is not matched at all.
 */
export const bounce: Stage = {
  name: 'bounce',
  async run(draft, ctx) {
    if (!draft.mail || draft.classification?.kind !== 'bounce') return {};
    const report = readBounce(draft.mail);
    const outbox = await ctx.store.outboxByMessageIds(report.originalMessageIds);
    const what = `${report.status ?? 'no status'}${report.recipient ? ` for ${report.recipient}` : ''}${report.diagnostic ? `: ${report.diagnostic}` : ''}`;
    // Anyone who saw one of our Message-IDs can write a report about it: it is believed only
    // about the address that message went to (issue #17: a forged report silenced an agent).
    if (outbox && report.recipient && report.recipient !== outbox.recipient.toLowerCase()) {
      return { bounce: { report, outbox: null, reason: `bounce naming ${report.recipient} for our outbox message ${outbox.id}, which went to ${outbox.recipient}: not believed (${what})` } };
    }
    return {
      bounce: {
        report,
        outbox,
        reason: outbox ? `bounce of our outbox message ${outbox.id} (${what})` : `bounce matching no mail we sent (${what}; original ids: ${report.originalMessageIds.join(' ') || 'none found'})`,
      },
    };
  },
};
