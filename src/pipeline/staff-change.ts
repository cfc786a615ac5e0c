import type { Config } from '../config/schema';
import type { Store } from '../store/open';
import { runPlan, sqliteWrites, write, type Plan } from '../store/writes';
import type { FieldChange } from './changes';
import { enqueuePlan, secretPlan } from './enqueue';
import { assigneeNotice, statusNotice } from './stages/notify';
import { storeReader } from './store-reader';
import type { PlannedMail, StoreReader } from './types';

export interface StaffChangeResult {
  told: Array<{ template: string; to: string }>;
  withheld: string[];
}

/**
 * A staff change made outside mail (`helpdesk tickets set`) and what it tells, for either
 * store: the customer's `status_changed` notice of a resolution (stages/notify.ts
 * statusNotice), the new assignee's `assigned` and the customer's `assignee_changed`
 * (assigneeNotice), or why a notice was withheld. The notices are read from `reader` before
 * the change; `run` writes the plan in the same transaction (the caller's).
 */
export async function staffChange(
  reader: StoreReader,
  run: <T>(plan: Plan<T>) => T | Promise<T>,
  config: Config,
  ticket: { id: number; ref: string },
  change: FieldChange,
  actor: string,
  at: number,
  reason: string | null,
): Promise<StaffChangeResult> {
  const before = await reader.ticketInfo(ticket.id);
  const notice =
    change.field === 'status' && before
      ? await statusNotice(config, reader, { ...before, status: change.to ?? before.status }, change, at)
      : change.field === 'assignee' && before
        ? await assigneeNotice(config, reader, { ...before, assignee: change.to }, change, actor, at)
        : { mails: [], withheld: [] };
  await run(staffChangePlan(config, ticket, change, actor, at, reason, notice));
  return { told: notice.mails.map((m) => ({ template: m.template, to: m.to })), withheld: notice.withheld };
}

function* staffChangePlan(config: Config, ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null, notice: { mails: PlannedMail[]; withheld: string[] }): Plan<void> {
  yield* write('applyChange', ticket.id, change, actor, at, reason);
  const secret = notice.mails.length > 0 ? yield* secretPlan(config) : '';
  for (const mail of notice.mails) {
    yield* enqueuePlan(config, { mail, ticket, inReplyTo: mail.thread?.inReplyTo ?? null, references: mail.thread?.references ?? [], secret, at });
  }
  for (const why of notice.withheld) yield* write('addEvent', { ticketId: ticket.id, at, actor: 'system', type: 'notification_withheld', reason: why });
}

/**
 * staffChange on the SQLite store. The store reader answers asynchronously, which a
 * better-sqlite3 transaction function cannot wait for: the transaction is opened by hand, in
 * the store's write turn, and IMMEDIATE, so the notice is read under the same write lock as the
 * change (a daemon writing meanwhile cannot make it stale).
 */
export async function applyStaffChange(store: Store, config: Config, ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null): Promise<StaffChangeResult> {
  return store.turn(async () => {
    store.sqlite.exec('BEGIN IMMEDIATE');
    try {
      const result = await staffChange(storeReader(store, config), (plan) => runPlan(plan, sqliteWrites(store.db)), config, ticket, change, actor, at, reason);
      store.sqlite.exec('COMMIT');
      return result;
    } catch (err) {
      if (store.sqlite.inTransaction) store.sqlite.exec('ROLLBACK');
      throw err;
    }
  });
}
