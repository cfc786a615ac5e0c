import type { Config } from '../config/schema';
import { enqueueMail } from '../pipeline/enqueue';
import { messageIdSecret } from '../pipeline/store-reader';
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
  const admins = config.agents.filter((a) => a.admin);
  const locale = config.helpdesk.locale;
  const subject = (SUBJECT[locale] ?? SUBJECT.en)(incident.mailbox);
  store.db.transaction((tx) => {
    const secret = messageIdSecret(config, tx);
    for (const admin of admins) {
      enqueueMail(tx, config, {
        mail: { template: 'mailbox_unhealthy', to: admin.email, locale, reason: 'mailbox unhealthy', subject, data: { helpdesk: { name: config.helpdesk.name, address: config.helpdesk.address }, recipient: { address: admin.email, name: admin.name }, ...incident } },
        ticket: null,
        inReplyTo: null,
        references: [],
        secret,
        at,
      });
    }
  });
  return admins.length;
}
