import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { listTickets } from '../../src/store/tickets';
import { dynUser, startDovecot, type Dovecot } from '../harness/dovecot';
import { testClient } from '../harness/imap-client';
import { runCli, waitFor } from '../helpers/cli';
import { startTestDaemon } from '../helpers/daemon';
import { removeTempDirs } from '../helpers/env';
import { buildMail } from '../helpers/mail';

let dv: Dovecot;
beforeAll(async () => {
  dv = await startDovecot({ tls: true });
});
afterAll(async () => {
  await dv.stop();
  removeTempDirs();
});

const header = 'helpdesk: { address: support@example.test }\nhealth: { alertAfter: 1s }\nmailboxes:\n';

describe('IMAP over TLS with a private CA', () => {
  it.each([
    ['implicit TLS', () => dv.imapsPort, true],
    ['STARTTLS', () => dv.imapPort, false],
  ])('reads mail over %s, trusting the CA file', async (_name, port, secure) => {
    const user = dynUser();
    const seed = await testClient(dv, user);
    await seed.append('INBOX', buildMail({}));
    const { daemon } = await startTestDaemon(
      `${header}  - id: tls\n    imap: { host: 127.0.0.1, port: ${port()}, secure: ${secure}, user: "${user}", pass: test, tls: { caFile: "${dv.certFile}" } }\n`,
    );
    try {
      await waitFor(() => listTickets(daemon.store.db).length === 1 || undefined, 15_000, 'ticket over TLS');
    } finally {
      await daemon.stop();
      await seed.logout();
    }
  });

  it('refuses a server certificate it cannot verify, and says so', async () => {
    const { daemon } = await startTestDaemon(`${header}  - id: tls\n    imap: { host: 127.0.0.1, port: ${dv.imapsPort}, secure: true, user: "${dynUser()}", pass: test }\n`);
    try {
      const st = await waitFor(() => daemon.store.sqlite.prepare("select last_error from mailbox_state where mailbox = 'tls' and last_error is not null").get() as { last_error: string } | undefined, 15_000, 'TLS error recorded');
      expect(st.last_error).toMatch(/self[- ]signed|certificate/i);
      expect(listTickets(daemon.store.db)).toHaveLength(0);
    } finally {
      await daemon.stop();
    }
  });
});

describe('mailbox health', () => {
  it('reports a failing mailbox once per incident in the log and as UNHEALTHY in `helpdesk status`', async () => {
    const { daemon, logs, configDir, dataDir } = await startTestDaemon(
      `${header}  - id: broken\n    imap: { host: 127.0.0.1, port: ${dv.imapPort}, secure: false, user: support@example.test, pass: wrong, tls: { rejectUnauthorized: false } }\n`,
    );
    try {
      await waitFor(() => logs.some((l) => l.msg === 'mailbox unhealthy: no successful check') || undefined, 20_000, 'incident logged');
      await waitFor(() => logs.filter((l) => l.msg === 'imap session failed; reconnecting').length >= 3 || undefined, 30_000, 'more retries');
      expect(logs.filter((l) => l.msg === 'mailbox unhealthy: no successful check')).toHaveLength(1);
      // The alert mail to the admin, once per incident, written by the embedded default transport.
      const outbox = path.join(dataDir, 'outbox');
      const alerts = await waitFor(() => existsSync(outbox) && readdirSync(outbox).filter((f) => f.includes('mailbox_unhealthy')), 10_000, 'alert mail');
      expect(alerts).toHaveLength(1);
      const alert = await simpleParser(readFileSync(path.join(outbox, alerts[0])));
      expect(alert.to && !Array.isArray(alert.to) ? alert.to.value.map((v) => v.address) : null).toEqual(['ana@example.test']);
      expect(alert.subject).toBe('Mailbox broken cannot be read');
      expect(alert.text).toContain('authentication failed for support@example.test');
      expect(alert.headers.get('auto-submitted')).toBe('auto-replied');
      const r = runCli(['--config', configDir, '--data', dataDir, 'status', '--json']);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toEqual([
        {
          mailbox: 'broken',
          kind: 'imap',
          state: 'failing',
          healthy: false,
          lastCheckAt: null,
          lastError: expect.stringMatching(/^authentication failed for support@example.test/),
          lastErrorAt: expect.any(String),
          backlog: null,
          lastUid: 0,
          uidValidity: null,
        },
      ]);
    } finally {
      await daemon.stop();
    }
  }, 60_000);
});
