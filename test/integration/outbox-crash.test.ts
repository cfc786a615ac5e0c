import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, spawnCli, waitFor } from '../helpers/cli';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { header, startSmtpSink, type SmtpSink } from '../harness/smtp-sink';

let sink: SmtpSink;
afterEach(async () => sink.close());
afterAll(removeTempDirs);

/** A config sending to the sink, reading a maildir in `work`; and the CLI arguments for it. */
function setup(port: number) {
  const work = tempDir('hd-outbox-crash-');
  mkdirSync(path.join(work, 'maildir', 'new'), { recursive: true });
  const config = writeConfigDir({
    'helpdesk.yaml': `helpdesk: { address: support@example.test }
mailboxes:
  - { id: local, maildir: ${path.join(work, 'maildir')}, pollInterval: 1h }
outgoing: { smtp: { host: 127.0.0.1, port: ${port}, secure: false } }
`,
  });
  return { work, args: ['--config', config, '--data', path.join(work, 'data')] };
}

describe('outbox worker killed between the server’s acceptance and marking the row sent', () => {
  it('sends the message again after a restart, with the same Message-ID', async () => {
    sink = await startSmtpSink();
    const { work, args } = setup(sink.port);
    writeFileSync(path.join(work, 'maildir', 'new', '1.mail'), buildMail({ messageId: '<crash@customer.test>' }));

    const first = spawnCli([...args, 'start'], { env: { HELPDESK_LOG_LEVEL: 'info' } });
    // The server has the whole message; the daemon dies before it hears "250 OK".
    sink.beforeAccept = async () => {
      sink.beforeAccept = undefined;
      first.child.kill('SIGKILL');
      await first.exited;
    };
    await first.exited;
    expect(sink.messages).toHaveLength(1);
    const lost = sink.messages[0];
    const listed = JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout) as { id: number; status: string; messageId: string }[];
    expect(listed.find((r) => r.messageId === header(lost, 'message-id'))?.status).toBe('pending');

    const second = spawnCli([...args, 'start']);
    try {
      await waitFor(() => sink.messages.length >= 2, 15_000, 'the resend');
      const ids = sink.messages.map((m) => header(m, 'message-id'));
      expect(ids[1]).toBe(ids[0]);
      expect(sink.messages[1].parsed.subject).toBe(lost.parsed.subject);
      await waitFor(() => (JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout) as { status: string }[]).every((r) => r.status === 'sent'), 15_000, 'rows marked sent');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    expect(sink.messages.filter((m) => header(m, 'message-id') === header(lost, 'message-id'))).toHaveLength(2);
  });
});

describe('helpdesk outbox', () => {
  it('lists rows and retries a failed one with the same Message-ID', async () => {
    sink = await startSmtpSink();
    sink.rejectRecipient = (a) => (a === 'carla@customer.test' ? '5.7.1 relaying denied for now' : undefined);
    const { work, args } = setup(sink.port);
    writeFileSync(path.join(work, 'maildir', 'new', '1.mail'), buildMail({}));
    const daemon = spawnCli([...args, 'start']);
    try {
      await waitFor(() => (JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout) as { status: string }[]).some((r) => r.status === 'failed'), 15_000, 'a failed row');
      const [row] = JSON.parse(runCli([...args, 'outbox', 'list', '--status', 'failed', '--json']).stdout) as { id: number; to: string[]; lastError: string; messageId: string; ticket: string }[];
      expect(row).toMatchObject({ to: ['carla@customer.test'], ticket: 'HD-1' });
      expect(row.lastError).toContain('relaying denied for now');
      expect(runCli([...args, 'outbox', 'list']).stdout).toMatch(/^ID\s+STATUS\s+TRIES.*CREATED \(UTC\)/);

      sink.rejectRecipient = undefined;
      const retried = runCli([...args, 'outbox', 'retry', String(row.id)]);
      expect(retried.code).toBe(0);
      expect(retried.stdout).toContain(`outbox row ${row.id}`);
      await waitFor(() => sink.messages.some((m) => header(m, 'message-id') === row.messageId), 20_000, 'the retried message');
      expect(runCli([...args, 'outbox', 'retry', String(row.id)]).code).toBe(64); // sent: nothing to retry
      expect(runCli([...args, 'outbox', 'retry', '999']).code).toBe(1);
      expect(runCli([...args, 'outbox', 'retry', 'x1']).code).toBe(64);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  }, 60_000);
});
