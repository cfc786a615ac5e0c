import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mailboxStateStore } from '../../src/store/mailbox-state';
import { listOutbox } from '../../src/store/outbox';
import { corpusMails, MAIL_CORPUS } from './corpus';
import { buildMail } from './mail';
import type { Desk, smtpDesks } from './smtp-desk';

/**
 * A desk in use, made by the real pipeline: a customer's ticket (HD-1) answered and resolved
 * by an agent, a second one from her plus-addressed form, 30 real mails of the corpus (attachments, odd charsets, bounces, lists), the
 * notifications sent, a mailbox checkpoint.
 */
export async function busyDesk(fx: ReturnType<typeof smtpDesks>): Promise<Desk> {
  const d = fx.open();
  await d.ingest(buildMail({ subject: 'The printer jams', body: 'Our printers jam every morning.' }));
  // A plus-addressed form of the same customer: its acknowledgements share her budget.
  await d.ingest(buildMail({ from: 'carla+orders@customer.test', subject: 'Order 77', body: 'Where is order 77?' }));
  for (const m of corpusMails().slice(0, 30)) await d.ingest(readFileSync(path.join(MAIL_CORPUS, m.file)));
  await d.send();
  const ack = listOutbox(d.store.db).find((r) => r.ref === 'HD-1' && r.template === 'ack');
  await d.ingest(buildMail({ from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', inReplyTo: ack?.messageId, body: '#status resolved\nCleaned the rollers.' }));
  await d.send();
  mailboxStateStore(d.store.db).savePosition('support', '1700000000', 4242);
  return d;
}
