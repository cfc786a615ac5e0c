import { testClient } from '../harness/imap-client';
import { dynUser, startDovecot, type Dovecot } from '../harness/dovecot';
import { header, startSmtpSink, type SinkMessage, type SmtpSink } from '../harness/smtp-sink';
import { waitFor } from '../helpers/cli';
import { imapMailboxYaml, startTestDaemon } from '../helpers/daemon';
import { removeTempDirs } from '../helpers/env';
import { buildMail } from '../helpers/mail';

let dv: Dovecot;
let sink: SmtpSink;
beforeAll(async () => {
  dv = await startDovecot();
  sink = await startSmtpSink();
});
afterAll(async () => {
  await sink.close();
  await dv.stop();
  removeTempDirs();
});

const idOf = (m: SinkMessage) => header(m, 'message-id') as string;

/** A reply as a mail client writes it: new text on top, the quoted mail below. */
function replyTo(m: SinkMessage, from: string, top: string): Buffer {
  return buildMail({
    from,
    subject: `Re: ${m.parsed.subject}`,
    inReplyTo: idOf(m),
    references: [...(header(m, 'references') ?? '').split(/\s+/).filter(Boolean), idOf(m)],
    body: `${top}\n\nOn Mon, 23 Nov 2026 at 11:00, Support <support@example.test> wrote:\n${(m.parsed.text ?? '').split('\n').map((l) => `> ${l}`).join('\n')}\n`,
  });
}

describe('a whole conversation through Dovecot and an SMTP server', () => {
  it('customer → acknowledgement → agent notified → agent reply relayed → customer reply → resolved → rated', async () => {
    const user = dynUser();
    const seed = await testClient(dv, user);
    const desk = await startTestDaemon(
      `helpdesk: { address: support@example.test }\noutgoing: { smtp: { host: 127.0.0.1, port: ${sink.port}, secure: false } }\nmailboxes:\n${imapMailboxYaml({ id: 'support', port: dv.imapPort, user })}`,
    );
    const mailTo = (address: string, n: number) => waitFor(() => sink.messages.filter((m) => m.to.includes(address))[n - 1], 15_000, `mail ${n} to ${address}`);
    try {
      await seed.append('INBOX', buildMail({ messageId: '<conv-1@customer.test>', subject: 'Printer broken', body: 'Hello, it does not print.' }));
      const ack = await mailTo('carla@customer.test', 1);
      const notified = await mailTo('ana@example.test', 1);
      expect(ack.parsed.subject).toBe('[HD-1] Printer broken');
      expect(notified.parsed.text).toContain('Hello, it does not print.');

      // Ana (no rule assigned the ticket) takes it and answers from her client.
      await seed.append('INBOX', replyTo(notified, 'Ana <ana@example.test>', '#assign me\nPlease switch it off and on again.\n\nAna'));
      const relay = await mailTo('carla@customer.test', 2);
      expect(relay.parsed.text?.startsWith('Please switch it off and on again.')).toBe(true);
      expect(relay.parsed.text).not.toContain('#assign');
      expect(relay.parsed.text).not.toContain('Hello, it does not print.\n\nOn Mon'); // not Ana's quote of the notification
      expect(relay.parsed.from?.value[0]).toEqual({ address: 'support@example.test', name: 'Ana via Support' });
      expect(header(relay, 'references')).toContain('<conv-1@customer.test>');
      expect(relay.raw.toString()).not.toContain('ana@example.test');

      await seed.append('INBOX', replyTo(relay, 'Carla Customer <carla@customer.test>', 'Still broken.'));
      const told = await mailTo('ana@example.test', 2);
      expect(told.parsed.text).toContain('Still broken.');

      await seed.append('INBOX', replyTo(told, 'Ana <ana@example.test>', '#status resolved\nReplaced the fuser.'));
      const resolved = await mailTo('carla@customer.test', 3);
      expect(resolved.parsed.text).toContain('Replaced the fuser.');
      await waitFor(async () => (await desk.view.ticketByRef('HD-1'))?.status === 'resolved', 15_000, 'resolved');

      await seed.append('INBOX', replyTo(resolved, 'Carla Customer <carla@customer.test>', '#rate 5 great'));
      await waitFor(async () => (await desk.view.ticketByRef('HD-1'))?.rating === 5, 15_000, 'rated');
      const t = await desk.view.showTicket('HD-1');
      expect(t?.status).toBe('resolved');
      expect(t?.assignee).toBe('ana@example.test');
      expect(t?.messages.map((m) => `${m.kind} ${m.threadedBy}`)).toEqual(['customer new', 'agent_reply references', 'customer references', 'agent_reply references', 'customer references']);
      expect(sink.messages.filter((m) => m.to.includes('carla@customer.test'))).toHaveLength(3);
    } finally {
      await desk.stop();
      await seed.logout();
    }
  }, 90_000);
});
