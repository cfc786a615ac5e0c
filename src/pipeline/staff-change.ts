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
export async function applyStaffChange(store: Store, config: Config, ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null): Promise<{ told: Array<{ template: string; to: string }>; withheld: string[] }> {
  // The store reader answers asynchronously, which a better-sqlite3 transaction function
  // cannot wait for: the transaction is opened by hand, in the store's write turn, and
  // IMMEDIATE, so the notice is read under the same write lock as the change (a daemon
  // writing meanwhile cannot make it stale).
  return store.turn(async () => {
    store.sqlite.exec('BEGIN IMMEDIATE');
    try {
      const before = ticketInfo(store.db, ticket.id);
      const reader = storeReader(store, config);
      const notice =
        change.field === 'status' && before
          ? await statusNotice(config, reader, { ...before, status: change.to ?? before.status }, change, at)
          : change.field === 'assignee' && before
            ? await assigneeNotice(config, reader, { ...before, assignee: change.to }, change, actor, at)
            : { mails: [], withheld: [] };
      applyChange(store.db, ticket.id, change, actor, at, reason);
      const secret = messageIdSecret(config, store.db);
      for (const mail of notice.mails) {
        enqueueMail(store.db, config, { mail, ticket, inReplyTo: mail.thread?.inReplyTo ?? null, references: mail.thread?.references ?? [], secret, at });
      }
      for (const why of notice.withheld) addEvent(store.db, { ticketId: ticket.id, at, actor: 'system', type: 'notification_withheld', reason: why });
      store.sqlite.exec('COMMIT');
      return { told: notice.mails.map((m) => ({ template: m.template, to: m.to })), withheld: notice.withheld };
    } catch (err) {
      if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK');
      throw err;
    }
  });
}
