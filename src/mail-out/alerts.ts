import type { Config } from '../config/schema';
import { enqueueForAdmins } from '../pipeline/enqueue';
import type { Store } from '../store/open';

const SUBJECT: Record<string, (mailbox: string) => string> = {
  en: (m) => `Mailbox ${m} cannot be read`,
  es: (m) => `No se puede leer el buzón ${m}`,
};

/**
 * The alert mail for a mailbox that has had no successful check for `health.alertAfter`
 * (once per incident; the IMAP source decides when), to every admin.
 */
export function enqueueMailboxAlert(store: Store, config: Config, incident: { mailbox: string; since: number; error: string }, at: number): number {
  const subject = (SUBJECT[config.helpdesk.locale] ?? SUBJECT.en)(incident.mailbox);
  return enqueueForAdmins(store.db, config, { template: 'mailbox_unhealthy', subject, reason: 'mailbox unhealthy', data: incident }, at);
}
