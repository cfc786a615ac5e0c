import type { Config } from '../config/schema';
import { enqueueForAdmins } from '../pipeline/enqueue';
import type { Store } from '../store/open';

/**
 * The alert mail for a mailbox that has had no successful check for `health.alertAfter`
 * (once per incident; the IMAP source decides when), to every admin.
 */
export function enqueueMailboxAlert(store: Store, config: Config, incident: { mailbox: string; since: number; error: string }, at: number): number {
  // The subject sent is mailbox_unhealthy.subject.hbs in the admins' language (the row keeps
  // it once sent); this one is the fallback, and the row's until then.
  const subject = `Mailbox ${incident.mailbox} cannot be read`;
  return enqueueForAdmins(store.db, config, { template: 'mailbox_unhealthy', subject, reason: 'mailbox unhealthy', data: incident }, at);
}
