import http from 'node:http';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listTickets } from '../../src/store/tickets';
import { startDovecot, type Dovecot } from '../harness/dovecot';
import { testClient } from '../harness/imap-client';
import { waitFor } from '../helpers/cli';
import { startTestDaemon } from '../helpers/daemon';
import { removeTempDirs, tempDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

/** A token introspection endpoint: only `good-token` is active, for oauth@example.test. */
let server: http.Server;
let dv: Dovecot;
const seen: string[] = [];
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      seen.push(token);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(token === 'good-token' ? { active: true, username: 'oauth@example.test' } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  dv = await startDovecot({ oauth2Introspection: `http://127.0.0.1:${port}/introspect` });
});
afterAll(async () => {
  await dv.stop();
  server.close();
  removeTempDirs();
});

describe('IMAP with OAuth2 (XOAUTH2)', () => {
  it('authenticates with a token from a command, and gets a fresh one after the old one is refused', async () => {
    // A password login seeds the mailbox: the user is also in the harness's passwd file.
    writeFileSync(path.join(dv.dir, 'users'), 'support@example.test:{PLAIN}secret::::::\noauth@example.test:{PLAIN}pw::::::\n');
    const seed = await testClient(dv, 'oauth@example.test', 'pw');
    await seed.append('INBOX', buildMail({}));
    // The token helper hands out an expired token first, then a valid one (as a refresh would).
    const dir = tempDir('hd-token-');
    const script = path.join(dir, 'token.sh');
    writeFileSync(script, `#!/bin/sh\nif [ -f ${dir}/used ]; then echo good-token; else touch ${dir}/used; echo expired-token; fi\n`);
    chmodSync(script, 0o755);
    const { daemon, logs } = await startTestDaemon(
      `helpdesk: { address: support@example.test }\nmailboxes:\n  - id: o365\n    imap: { host: 127.0.0.1, port: ${dv.imapPort}, secure: false, user: oauth@example.test, oauth2: { tokenCommand: "${script}" } }\n`,
    );
    try {
      await waitFor(() => listTickets(daemon.store.db).length === 1 || undefined, 20_000, 'ticket via XOAUTH2');
      expect(seen).toEqual(expect.arrayContaining(['expired-token', 'good-token']));
      expect(logs.some((l) => l.msg === 'imap session failed; reconnecting' && /authentication failed/.test(String(l.error)))).toBe(true);
    } finally {
      await daemon.stop();
      await seed.logout();
    }
  }, 40_000);
});
