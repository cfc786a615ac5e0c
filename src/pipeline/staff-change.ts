import type { Config } from '../config/schema';
import type { Store } from '../store/open';
import { addEvent, applyChange, ticketInfo } from '../store/tickets';
import type { FieldChange } from './changes';
import { enqueueMail } from './enqueue';
import { assigneeNotice, statusNotice } from './stages/notify';
import { messageIdSecret, storeReader } from './store-reader';

/**
 * Applies a staff change made outside mail (`helpdesk tickets set`) and, in the same
 * transaction, queues what it tells: the customer's `status_changed` notice of a resolution
 * (stages/notify.ts statusNotice), the new assignee's `assigned` and the customer's
 * `assignee_changed` (assigneeNotice), or records why a notice was withheld.
 * Returns what was queued to whom and the reasons for withholding.
 */
export function applyStaffChange(store: Store, config: Config, ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null): { told: Array<{ template: string; to: string }>; withheld: string[] } {
  return store.db.transaction(
    (tx) => {
      // Read under the same write lock as the change, so a daemon writing meanwhile cannot make the notice stale.
      const before = ticketInfo(tx, ticket.id);
      const reader = storeReader(store, config);
      const notice =
        change.field === 'status' && before
          ? statusNotice(config, reader, { ...before, status: change.to ?? before.status }, change, at)
          : change.field === 'assignee' && before
            ? assigneeNotice(config, reader, { ...before, assignee: change.to }, change, actor, at)
            : { mails: [], withheld: [] };
      applyChange(tx, ticket.id, change, actor, at, reason);
      const secret = messageIdSecret(config, tx);
      for (const mail of notice.mails) {
        enqueueMail(tx, config, { mail, ticket, inReplyTo: mail.thread?.inReplyTo ?? null, references: mail.thread?.references ?? [], secret, at });
      }
      for (const why of notice.withheld) addEvent(tx, { ticketId: ticket.id, at, actor: 'system', type: 'notification_withheld', reason: why });
      return { told: notice.mails.map((m) => ({ template: m.template, to: m.to })), withheld: notice.withheld };
    },
    { behavior: 'immediate' },
  );
}
