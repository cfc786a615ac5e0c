import type { Config } from '../config/schema';
import type { Logger } from '../lib/log';
import { enqueueForAdminsPlan } from '../pipeline/enqueue';
import type { Store } from '../store/open';
import { runPlan, sqliteWrites, type Plan } from '../store/writes';

export interface MailboxIncident {
  mailbox: string;
  since: number;
  error: string;
}

/**
 * The alert mail for a mailbox that has had no successful check for `health.alertAfter`
 * (once per incident; the IMAP source decides when), to every admin, as a plan for any store
 * (store/writes.ts). Returns how many admins it was written to.
 */
export function* mailboxAlertPlan(config: Config, incident: MailboxIncident, at: number): Plan<number> {
  // The subject sent is mailbox_unhealthy.subject.hbs in the admins' language (the row keeps
  // it once sent); this one is the fallback, and the row's until then.
  const subject = `Mailbox ${incident.mailbox} cannot be read`;
  return yield* enqueueForAdminsPlan(config, { template: 'mailbox_unhealthy', subject, reason: 'mailbox unhealthy', data: { ...incident } }, at);
}

/** mailboxAlertPlan on the SQLite store, in one transaction. */
export function enqueueMailboxAlert(store: Store, config: Config, incident: MailboxIncident, at: number): number {
  return store.db.transaction((tx) => runPlan(mailboxAlertPlan(config, incident, at), sqliteWrites(tx)));
}

/**
 * A source's `onUnhealthy` for a daemon: `enqueue` writes the alert into the daemon's store;
 * then the outbox is woken. A failure is logged (the log's own alert stays), never thrown into
 * the source.
 */
export function alertAdmins(enqueue: (incident: MailboxIncident) => Promise<number>, log: Logger, wake: () => void): (incident: MailboxIncident) => void {
  return (incident) => {
    void enqueue(incident)
      .then((n) => {
        log.info({ mailbox: incident.mailbox, admins: n }, 'unhealthy-mailbox alert queued');
        wake();
      })
      .catch((err: unknown) => log.error({ err, mailbox: incident.mailbox }, 'cannot queue the unhealthy-mailbox alert'));
  };
}
