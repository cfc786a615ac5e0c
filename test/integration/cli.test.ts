import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, runCli, runCliAsync, spawnCli, waitFor } from '../helpers/cli';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

afterAll(() => removeTempDirs());

function setup() {
  const config = writeConfigDir();
  const data = tempDir('hd-cli-');
  return { config, data, args: ['--config', config, '--data', data] };
}

const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('helpdesk ingest', () => {
  it('abandons a message whose parse outlasts limits.processingTime, quarantines it with the reason, and goes on', () => {
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nlimits: { processingTime: 1s }\nmailboxes: []\n' });
    const args = ['--config', config, '--data', tempDir('hd-cli-')];
    const dir = tempDir('hd-in-');
    // 5 MB of well-formed html: several seconds of sanitize-html and html-to-text.
    writeFileSync(path.join(dir, '1.eml'), `From: a@c.test\r\nTo: support@example.test\r\nSubject: long\r\nMessage-ID: <long@c.test>\r\nContent-Type: text/html\r\n\r\n${'<p>hello <b>world</b></p>'.repeat(200_000)}\r\n`);
    writeFileSync(path.join(dir, '2.eml'), buildMail({ messageId: '<after@c.test>', from: 'later@c.test' }));
    const r = runCli([...args, 'ingest', '--json', dir]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((l) => l.outcome)).toEqual(['quarantined', 'created']);
    expect(out[0].reason).toMatch(/^parse: took longer than limits\.processingTime \(1000 ms\)/);
  }, 60_000);

  it('reads html nested or closed so as to make parsing quadratic as plain text, at once (issue #18: 43 s before)', () => {
    const { args } = setup();
    const hostile = `From: attacker@evil.test\r\nTo: support@example.test\r\nSubject: html\r\nMessage-ID: <tangled@evil.test>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${'<div>'.repeat(20_000)}Printer &amp; scanner down${'</x>'.repeat(400_000)}\r\n`;
    const r = runCli([...args, 'ingest', '--json', '-'], { input: hostile });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0].outcome).toBe('created');
    const show = JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout) as { messages: Array<{ text: string; html: string | null }> };
    expect(show.messages[0].text).toBe('Printer & scanner down');
  }, 60_000);

  it('ingests files, directories, mbox files and stdin, one JSON line per message', () => {
    const { args } = setup();
    const dir = tempDir('hd-in-');
    writeFileSync(path.join(dir, 'a.eml'), buildMail({ messageId: '<a@c.test>' }));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'b.eml'), buildMail({ messageId: '<b@c.test>', inReplyTo: '<a@c.test>' }));
    const mbox = path.join(dir, '..', `${path.basename(dir)}.mbox`);
    writeFileSync(mbox, `From x@c.test Mon Nov  2 10:00:00 2026\n${buildMail({ messageId: '<m1@c.test>', subject: 'one' })}\nFrom y@c.test Mon Nov  2 10:00:00 2026\n${buildMail({ messageId: '<m2@c.test>', subject: 'two', from: 'y@c.test' })}`);
    const r = runCli([...args, 'ingest', '--json', dir, mbox, '-'], { input: buildMail({ messageId: '<stdin@c.test>', subject: 'piped', from: 'z@c.test' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      // `spam`: the verdict on a new ticket (null for replies); "ham" while the filter is untrained.
      { source: path.join(dir, 'a.eml'), outcome: 'created', ticket: 'HD-1', threadedBy: 'new', reason: expect.any(String), spam: 'ham' },
      { source: path.join(dir, 'sub', 'b.eml'), outcome: 'appended', ticket: 'HD-1', threadedBy: 'in-reply-to', reason: expect.any(String), spam: null },
      { source: `${mbox}#1`, outcome: 'created', ticket: 'HD-2', threadedBy: 'new', reason: expect.any(String), spam: 'ham' },
      { source: `${mbox}#2`, outcome: 'created', ticket: 'HD-3', threadedBy: 'new', reason: expect.any(String), spam: 'ham' },
      { source: '-', outcome: 'created', ticket: 'HD-4', threadedBy: 'new', reason: expect.any(String), spam: 'ham' },
    ]);
  });

  it('writes standard input over limits.maxMessageSize to a temporary file as it streams, keeps it byte for byte, quarantines it, and removes the file', () => {
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nlimits: { maxMessageSize: 1MB }\nmailboxes: []\n' });
    const args = ['--config', config, '--data', tempDir('hd-cli-')];
    const tmp = tempDir('hd-tmp-');
    const big = Buffer.concat([buildMail({ messageId: '<big@c.test>' }), Buffer.alloc(3 * 1024 * 1024 + 17, 'y'), Buffer.from('\r\n')]);
    const r = runCli([...args, 'ingest', '--json', '-'], { input: big, env: { TMPDIR: tmp } });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatchObject({ outcome: 'quarantined', reason: `message is ${big.length} bytes, over limits.maxMessageSize (1048576 bytes)` });
    const db = new Database(path.join(args[3], 'helpdesk.sqlite'), { readonly: true });
    const row = db.prepare("select raw_path from inbound where outcome = 'quarantined'").get() as { raw_path: string };
    db.close();
    expect(readFileSync(path.join(args[3], row.raw_path)).equals(big)).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
    // Mail that fits needs no temporary folder at all (an MTA may give its pipe none it can write).
    const fits = runCli([...args, 'ingest', '--json', '-'], { input: buildMail({ messageId: '<fits@c.test>' }), env: { TMPDIR: '/nonexistent' } });
    expect(lines(fits.stdout)[0]).toMatchObject({ outcome: 'created' });
  });

  it('exits 0 with a quarantined outcome for bad mail, and 64 for bad usage', () => {
    const { args } = setup();
    const bad = runCli([...args, 'ingest', '--json', '-'], { input: '' });
    expect(bad.code).toBe(0);
    expect(lines(bad.stdout)[0]).toMatchObject({ outcome: 'quarantined', ticket: null, threadedBy: null, reason: 'empty message (0 bytes)' });
    expect(runCli([...args, 'ingest', '/no/such/file.eml']).code).toBe(64);
    expect(runCli([...args, 'ingest', '--bogus']).code).toBe(64);
  });

  it('exits 75 when the store cannot be written, so an MTA retries', () => {
    const config = writeConfigDir();
    const notADir = path.join(tempDir(), 'file');
    writeFileSync(notADir, 'x');
    const r = runCli(['--config', config, '--data', notADir, 'ingest', '-'], { input: buildMail({}) });
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/cannot open the store/);
  });

  it('exits 75 on invalid config (the MTA keeps the mail) and names the position', () => {
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk:\n  address: not-an-address\n' });
    const r = runCli(['--config', config, '--data', tempDir(), 'ingest', '-'], { input: buildMail({}) });
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/helpdesk\.yaml:2:12: helpdesk\.address: expected an email address/);
  });

  it('reads HELPDESK_CONFIG and HELPDESK_DATA', () => {
    const { config, data } = setup();
    expect(runCli(['ingest', '-'], { input: buildMail({}), env: { HELPDESK_CONFIG: config, HELPDESK_DATA: data } }).code).toBe(0);
    expect(existsSync(path.join(data, 'helpdesk.sqlite'))).toBe(true);
  });
});

describe('command-line conventions (issue #23)', () => {
  it('prints why a message was ignored, like the other outcomes', () => {
    const { args } = setup();
    const bounce = buildMail({ from: 'MAILER-DAEMON@mx.example.test', subject: 'Undelivered Mail Returned to Sender', body: 'This is the mail system. Your message could not be delivered.' });
    const r = runCli([...args, 'ingest', '-'], { input: bounce });
    expect(r.stdout.trim()).toMatch(/^-: ignored — .+/);
  });

  it('says its version, and refuses impossible dates, unwritable report files and an eval with nothing to compare', () => {
    const { args } = setup();
    const version = runCli(['--version']);
    expect([version.code, version.stdout.trim()]).toEqual([0, (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version]);
    const date = runCli([...args, 'report', '--since', '2026-13-45']);
    expect([date.code, date.stderr.trim()]).toEqual([64, 'helpdesk: --since expects a date such as 2026-11-01, got 2026-13-45']);
    const html = runCli([...args, 'report', '--html', '/no/such/dir/r.html']);
    expect(html.code).toBe(64);
    expect(html.stderr).toContain('cannot write --html /no/such/dir/r.html: ENOENT');
    expect(html.stderr).not.toContain('    at ');
    const evalNone = runCli([...args, 'spam', 'eval', '--spam', path.join(__dirname, '..', 'fixtures', 'spamassassin', 'test', 'spam')]);
    expect([evalNone.code, evalNone.stderr.trim()]).toEqual([64, 'helpdesk: give both --spam PATH and --ham PATH: rates need known spam and known ham']);
  });
});

describe('secrets from the environment', () => {
  it('read-only commands work in a shell without them; commands that write, and config check, still refuse', () => {
    const yaml = 'helpdesk: { address: support@example.test }\nmailboxes:\n  - id: main\n    imap: { host: imap.example.test, user: support, pass: "${IMAP_PASS_FOR_TEST}" }\n';
    const config = writeConfigDir({ 'helpdesk.yaml': yaml });
    const data = tempDir('hd-cli-env-');
    const args = ['--config', config, '--data', data];
    const env = { IMAP_PASS_FOR_TEST: 'secret' };
    expect(runCli([...args, 'ingest', '-'], { input: buildMail({ subject: 'VPN' }), env }).code).toBe(0);
    for (const cmd of [['tickets', 'list'], ['tickets', 'show', 'HD-1'], ['outbox', 'list']]) {
      const r = runCli([...args, ...cmd]);
      expect({ cmd: cmd.join(' '), code: r.code, stderr: r.stderr }).toEqual({ cmd: cmd.join(' '), code: 0, stderr: '' });
    }
    // status reads too (it exits 2 here only because the mailbox was never checked).
    const status = runCli([...args, 'status']);
    expect(status.stderr).toBe('helpdesk: at least one mailbox is unhealthy\n');
    const write = runCli([...args, 'ingest', '-'], { input: buildMail({ subject: 'again' }) });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain('environment variable IMAP_PASS_FOR_TEST is not set');
    expect(runCli([...args, 'config', 'check']).stderr).toContain('environment variable IMAP_PASS_FOR_TEST is not set');
  });
});

describe('helpdesk tickets', () => {
  it('refuses a status that does not exist and a limit that is not a number, saying what is allowed', () => {
    const { args } = setup();
    const status = runCli([...args, 'tickets', 'list', '--status', 'bogus']);
    expect(status.code).toBe(64);
    expect(status.stderr).toContain('--status must be one of new, open, pending, resolved, closed, spam, got "bogus"');
    for (const limit of ['abc', '0', '2x']) {
      const r = runCli([...args, 'tickets', 'list', '--limit', limit]);
      expect({ limit, code: r.code, said: r.stderr.includes(`--limit must be a whole number of 1 or more, got "${limit}"`) }).toEqual({ limit, code: 64, said: true });
    }
    expect(runCli([...args, 'outbox', 'list', '--limit', 'abc']).code).toBe(64);
  });

  it('lists tickets and shows one, as JSON in the documented shape', () => {
    const { args } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({ messageId: '<t@c.test>', cc: 'dan@c.test', subject: 'VPN' }) });
    const list = JSON.parse(runCli([...args, 'tickets', 'list', '--json']).stdout) as Record<string, unknown>[];
    expect(list).toEqual([
      {
        ref: 'HD-1',
        subject: 'VPN',
        status: 'new',
        priority: 'medium',
        severity: 'medium',
        category: 'general',
        queue: null,
        assignee: null,
        customer: 'carla@customer.test',
        spamVerdict: 'ham',
        messageCount: 1,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        dueAt: expect.any(String),
        firstResponseDueAt: null,
        pausedAt: null,
        organisation: null,
        contract: null,
        slaLevel: null,
      },
    ]);
    const show = JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout);
    expect(show).toMatchObject({
      ref: 'HD-1',
      participants: [{ email: 'carla@customer.test' }, { email: 'dan@c.test', role: 'cc' }],
      messages: [{ direction: 'in', kind: 'customer', from: 'carla@customer.test', to: ['support@example.test'], cc: ['dan@c.test'], subject: 'VPN', messageId: '<t@c.test>', threadedBy: 'new', text: 'Hello, it does not print.\n', attachments: [] }],
      events: [
        { actor: 'carla@customer.test', type: 'created', from: null, to: 'new' },
        { actor: 'system', type: 'unassigned', to: 'ana@example.test', reason: 'no rule assigns this ticket' },
        { type: 'participant_added', to: 'dan@c.test' },
      ],
    });
    expect(runCli([...args, 'tickets', 'show', 'HD-99']).code).toBe(1);
    // The table's times are UTC, as the JSON's are, and it says so.
    expect(runCli([...args, 'tickets', 'list']).stdout).toMatch(/^REF\s+STATUS.*UPDATED \(UTC\)\s+SUBJECT\n.*\d{4}-\d\d-\d\d \d\d:\d\d/);
  });
});

describe('terminal safety (issue #17)', () => {
  it('shows what a terminal would act on as \\uXXXX in tables, text and JSON; file names lose bidi controls', () => {
    const { args } = setup();
    const subject = '=?utf-8?b?' + Buffer.from('\u001b[2J\u001b]0;owned\u0007Invoice \u009b31m\u202eok').toString('base64') + '?=';
    const mail = [
      'From: Carla <carla@customer.test>', 'To: support@example.test', `Subject: ${subject}`, 'Message-ID: <esc@c.test>', 'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"', '', '--b', 'Content-Type: text/plain', '', 'see attached', '--b',
      'Content-Type: application/octet-stream', `Content-Disposition: attachment; filename*=utf-8''${encodeURIComponent('invoice\u202efdp.exe')}`, 'Content-Transfer-Encoding: base64', '', 'aGVsbG8=', '--b--', '',
    ].join('\r\n');
    expect(runCli([...args, 'ingest', '-'], { input: mail }).code).toBe(0);
    // eslint-disable-next-line no-control-regex
    const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;
    for (const command of [['tickets', 'list'], ['tickets', 'show', 'HD-1'], ['tickets', 'list', '--json'], ['tickets', 'show', 'HD-1', '--json']]) {
      const stdout = runCli([...args, ...command]).stdout;
      expect([command.join(' '), unsafe.test(stdout)]).toEqual([command.join(' '), false]);
      expect(stdout).toContain('\\u001b[2J');
    }
    // The JSON still reads back as what was sent.
    const show = JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout) as { subject: string; messages: { attachments: { filename: string }[] }[] };
    expect(show.subject).toBe('\u001b[2J\u001b]0;owned\u0007Invoice \u009b31m\u202eok');
    expect(show.messages[0].attachments[0].filename).toBe('invoicefdp.exe');
  });
});

describe('helpdesk start (maildir source)', () => {
  it('turns mail dropped into the maildir into tickets, moves it to cur/, and stops cleanly on SIGTERM', async () => {
    const work = tempDir('hd-start-');
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nmailboxes:\n  - { id: local, maildir: maildir, pollInterval: 1h }\n' });
    mkdirSync(path.join(work, 'maildir', 'new'), { recursive: true });
    writeFileSync(path.join(work, 'maildir', 'new', '1.waiting'), buildMail({ messageId: '<w@c.test>' }));
    // `maildir: maildir` is under the data dir, whatever the working directory.
    const daemon = spawnCli(['--config', config, '--data', work, 'start'], { cwd: tempDir('hd-elsewhere-') });
    const cur = path.join(work, 'maildir', 'cur');
    await waitFor(() => existsSync(cur) && readdirSync(cur).includes('1.waiting:2,S'), 15_000, 'waiting mail processed');
    // A second daemon on the same data would take the same mail twice: it refuses.
    expect(readFileSync(path.join(work, 'daemon.pid'), 'utf8').trim()).toBe(String(daemon.child.pid));
    const second = await runCliAsync(['--config', config, '--data', work, 'start']);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`a helpdesk daemon (pid ${daemon.child.pid}) already runs on ${work}`);
    // Arrives while running: picked up by the watch (the periodic scan is an hour away).
    writeFileSync(path.join(work, 'maildir', 'tmp', '2.new'), buildMail({ messageId: '<n@c.test>', inReplyTo: '<w@c.test>' }));
    renameSync(path.join(work, 'maildir', 'tmp', '2.new'), path.join(work, 'maildir', 'new', '2.new'));
    await waitFor(() => readdirSync(cur).includes('2.new:2,S'), 15_000, 'new mail processed');
    const started = Date.now();
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(path.join(work, 'daemon.pid'))).toBe(false);
    const lines = daemon.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.msg === 'message ingested').map((l) => [l.mailbox, l.position, l.outcome, l.ticket])).toEqual([
      ['local', '1.waiting', 'created', 'HD-1'],
      ['local', '2.new', 'appended', 'HD-1'],
    ]);
    const show = JSON.parse(runCli(['--config', config, '--data', work, 'tickets', 'show', 'HD-1', '--json']).stdout);
    expect(show.messages).toHaveLength(2);
  });
});

describe('data paths follow --data', () => {
  it('refuses to start when a relative Maildir only exists where the working directory used to put it', () => {
    const work = tempDir('hd-moved-');
    mkdirSync(path.join(work, 'maildir', 'new'), { recursive: true });
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nmailboxes:\n  - { id: local, maildir: maildir, pollInterval: 1h }\n' });
    const r = runCli(['--config', config, '--data', path.join(work, 'data'), 'start'], { cwd: work });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`mailboxes[0].maildir "maildir" resolves against the data dir (${path.join(work, 'data', 'maildir')}), which does not exist, while ${path.join(work, 'maildir')} does`);
  });
});

describe('a piped helpdesk ingest beside a daemon draining a backlog', () => {
  it('gets the store between two of the daemon’s batches: every pipe stores its message while the backlog is still draining', async () => {
    const work = tempDir('hd-pipe-');
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nmailboxes:\n  - { id: local, maildir: maildir, pollInterval: 1h }\n' });
    const data = work;
    const newDir = path.join(work, 'maildir', 'new');
    mkdirSync(newDir, { recursive: true });
    for (let i = 0; i < 3000; i++) writeFileSync(path.join(newDir, `${String(i).padStart(5, '0')}.m`), buildMail({ messageId: `<backlog-${i}@c.test>`, from: `b${i}@c.test` }));
    const daemon = spawnCli(['--config', config, '--data', data, 'start'], { cwd: work });
    try {
      await waitFor(() => daemon.stderr().includes('"msg":"message ingested"') || undefined, 20_000, 'the daemon draining');
      for (let i = 0; i < 5; i++) {
        const r = await runCliAsync(['--config', config, '--data', data, 'ingest', '--json', '-'], { input: buildMail({ messageId: `<pipe-${i}@c.test>`, from: `pipe${i}@c.test` }), cwd: work });
        expect([r.code, r.code === 0 ? '' : r.stderr.slice(-600)]).toEqual([0, '']);
        expect(lines(r.stdout)[0].outcome).toBe('created');
        expect(readdirSync(newDir).length).toBeGreaterThan(0); // the daemon was still at it
      }
      expect(existsSync(path.join(data, 'waiting')) && readdirSync(path.join(data, 'waiting'))).toEqual([]); // every wish withdrawn
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.exited;
    }
  }, 90_000);
});

describe('helpdesk tickets set', () => {
  it('changes a field, records it in the history, and recomputes the due date on a severity change', () => {
    const { args } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({}) });
    const before = JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout);
    const r = runCli([...args, 'tickets', 'set', 'HD-1', 'severity', 'critical', '--reason', 'whole office down']);
    expect(r.code).toBe(0);
    const after = JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout);
    expect(after.severity).toBe('critical');
    // medium is 48 h after arrival, critical 4 h after arrival.
    expect(Date.parse(before.dueAt) - Date.parse(after.dueAt)).toBe(44 * 3600_000);
    expect(after.events.slice(-2)).toMatchObject([
      { type: 'severity_changed', from: 'medium', to: 'critical', reason: 'whole office down' },
      { type: 'due_changed', to: after.dueAt },
    ]);
    const assign = runCli([...args, 'tickets', 'set', 'HD-1', 'assignee', 'Ana']);
    expect(assign.code).toBe(0);
    // The new assignee gets the ticket; the customer hears who handles it now.
    expect(assign.stdout).toContain('HD-1: assigned queued to ana@example.test');
    expect(assign.stdout).toContain(`HD-1: assignee_changed queued to ${after.customer}`);
    expect(JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout).assignee).toBe('ana@example.test');
    // Resolving tells the customer, through the outbox.
    const resolved = runCli([...args, 'tickets', 'set', 'HD-1', 'status', 'resolved']);
    expect(resolved.stdout).toContain(`HD-1: status_changed queued to ${after.customer}`);
    const outbox = JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout) as { template: string; to: string[] }[];
    expect(outbox.filter((r) => r.template === 'status_changed').map((r) => r.to)).toEqual([[after.customer]]);
  });

  it('refuses unknown fields, bad values and unknown agents with exit 64 and a clear message', () => {
    const { args } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({}) });
    const bad = runCli([...args, 'tickets', 'set', 'HD-1', 'priority', 'urgent']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/priority must be one of high, medium, low/);
    expect(runCli([...args, 'tickets', 'set', 'HD-1', 'colour', 'red']).stderr).toMatch(/cannot set colour/);
    expect(runCli([...args, 'tickets', 'set', 'HD-1', 'assignee', 'zoe@x.test']).stderr).toMatch(/unknown agent zoe@x.test/);
    expect(runCli([...args, 'tickets', 'set', 'HD-9', 'priority', 'high']).code).toBe(1);
  });

  it('marking spam never records the change without the lesson: a lesson that fails leaves the ticket as it was, and running it again does both', () => {
    const { args, data } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({}) });
    // The spam model cannot be written (SQLite refuses, as on a corrupt or locked table).
    const db = new Database(path.join(data, 'helpdesk.sqlite'));
    db.exec("create trigger fail_lesson before insert on spam_learned begin select raise(abort, 'injected: cannot write the spam model'); end");
    const failed = runCli([...args, 'tickets', 'set', 'HD-1', 'status', 'spam']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('injected: cannot write the spam model');
    expect(JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout).status).toBe('new');
    db.exec('drop trigger fail_lesson');
    db.close();
    const again = runCli([...args, 'tickets', 'set', 'HD-1', 'status', 'spam']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('HD-1: spam filter learnt it as spam');
    expect(JSON.parse(runCli([...args, 'tickets', 'show', 'HD-1', '--json']).stdout).status).toBe('spam');
  });

  it('refuses to change a ticket merged into another (an empty husk) and names the ticket to change', () => {
    const { args } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({ subject: 'Printer broken' }) });
    runCli([...args, 'ingest', '-'], { input: buildMail({ subject: 'Printer still broken' }) });
    runCli([...args, 'ingest', '-'], { input: buildMail({ from: 'Ana <ana@example.test>', subject: 'Re: [HD-2] Printer still broken', body: '#merge HD-1' }) });
    const r = runCli([...args, 'tickets', 'set', 'HD-2', 'status', 'open']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('HD-2 was merged into HD-1');
    expect(JSON.parse(runCli([...args, 'tickets', 'show', 'HD-2', '--json']).stdout).status).toBe('closed');
  });
});

describe('files back out of the store', () => {
  const mailWithFiles = (pdf: Buffer, txt: string) =>
    Buffer.from(
      [
        'From: carla@customer.test',
        'To: support@example.test',
        'Subject: files',
        'Message-ID: <files@c.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="B"',
        '',
        '--B',
        'Content-Type: text/plain',
        '',
        'two files',
        '--B',
        'Content-Type: application/pdf; name="invoice.pdf"',
        'Content-Transfer-Encoding: base64',
        'Content-Disposition: attachment; filename="invoice.pdf"',
        '',
        pdf.toString('base64'),
        '--B',
        'Content-Type: text/plain; name="notes.txt"',
        'Content-Disposition: attachment; filename="notes.txt"',
        '',
        txt,
        '--B--',
        '',
      ].join('\r\n'),
    );

  it('attachments get writes them (all, by number, by name) without overwriting; raw gives the message byte for byte', () => {
    const { args } = setup();
    const pdf = Buffer.from('%PDF-1.4 a small invoice\n');
    const raw = mailWithFiles(pdf, 'printer model X200');
    expect(runCli([...args, 'ingest', '-'], { input: raw }).code).toBe(0);
    expect(runCli([...args, 'tickets', 'show', 'HD-1']).stdout).toContain('[attachment 2] notes.txt');

    const out = tempDir('hd-get-');
    const all = runCli([...args, 'attachments', 'get', 'HD-1', '-o', out]);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toEqual([path.join(out, 'invoice.pdf'), path.join(out, 'notes.txt')]);
    expect(readFileSync(path.join(out, 'invoice.pdf')).equals(pdf)).toBe(true);
    expect(runCli([...args, 'attachments', 'get', 'HD-1', '2', '-o', out]).stdout.trim()).toBe(path.join(out, 'notes (2).txt'));
    expect(readFileSync(path.join(out, 'notes (2).txt'), 'utf8')).toBe('printer model X200');
    expect(runCli([...args, 'attachments', 'get', 'HD-1', 'invoice.pdf', '-o', out]).stdout.trim()).toBe(path.join(out, 'invoice (2).pdf'));
    expect(runCli([...args, 'attachments', 'get', 'HD-1', '7', '-o', out])).toMatchObject({ code: 1, stderr: expect.stringContaining('HD-1 has no attachment 7') });

    const file = path.join(out, 'message.eml');
    expect(runCli([...args, 'raw', 'HD-1', '1', '-o', file]).code).toBe(0);
    expect(readFileSync(file).equals(raw)).toBe(true);
    expect(runCli([...args, 'raw', 'HD-1', '1']).stdout).toBe(raw.toString());
    expect(runCli([...args, 'raw', 'HD-1', '3'])).toMatchObject({ code: 1, stderr: expect.stringContaining('HD-1 has no message 3 (it has 1)') });
  });

  it('exits quietly when the reader of its output goes away (`tickets show | head -1`)', () => {
    const { args } = setup();
    runCli([...args, 'ingest', '-'], { input: buildMail({ messageId: '<long@c.test>', body: 'line\n'.repeat(200_000) }) });
    const r = spawnSync('bash', ['-c', `node ${JSON.stringify(CLI)} ${args.map((a) => JSON.stringify(a)).join(' ')} tickets show HD-1 | head -1; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(r.stdout).toBe('HD-1  Printer broken\n');
    expect(r.stderr).toBe('exit 0\n');
  });
});

describe('helpdesk init', () => {
  it('makes a desk of the admin’s own from the shipped example, and never overwrites one', () => {
    const dir = path.join(tempDir('hd-init-'), 'desk');
    expect(runCli(['init', dir]).code).toBe(0);
    expect(readdirSync(path.join(dir, 'config')).sort()).toEqual(['agents.yaml', 'customers.yaml', 'helpdesk.yaml', 'kb', 'rules.yaml', 'schema']);
    expect(readFileSync(path.join(dir, 'config', 'rules.yaml'), 'utf8')).toBe(readFileSync(path.resolve(__dirname, '../../config/rules.yaml'), 'utf8'));
    const check = runCli(['--config', path.join(dir, 'config'), '--data', path.join(dir, 'data'), 'config', 'check']);
    expect(check.code).toBe(0);
    writeFileSync(path.join(dir, 'config', 'agents.yaml'), 'agents: []\n');
    const again = runCli(['init', dir]);
    expect(again.code).toBe(64);
    expect(again.stderr).toContain('already exists; init never overwrites a config');
    expect(readFileSync(path.join(dir, 'config', 'agents.yaml'), 'utf8')).toBe('agents: []\n');
  });
});

describe('help', () => {
  it.each(['tickets list', 'backup restore', 'ingest'])('helpdesk %s --help shows --config, --data and an example', (command) => {
    const r = runCli([...command.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Global Options:\n\s+--config <dir>.*\n\s+--data <dir>/);
    expect(r.stdout).toMatch(new RegExp(`Examples?:\\n  (.*\\n)*.*helpdesk ${command}`));
  });
});

describe('progress on a terminal', () => {
  it('shows files, messages and rate for ingest DIR on a terminal, and nothing extra in a pipe', () => {
    const { args } = setup();
    const dir = tempDir('hd-progress-');
    for (let i = 0; i < 3; i++) writeFileSync(path.join(dir, `${i}.eml`), buildMail({ messageId: `<p${i}@c.test>`, from: `p${i}@c.test` }));
    // `script` gives the command a terminal (util-linux, on every Debian).
    const quoted = [process.execPath, CLI, ...args, 'ingest', dir].map((a) => `'${a}'`).join(' ');
    const tty = spawnSync('script', ['-qec', quoted, '/dev/null'], { encoding: 'utf8', env: { ...process.env, HELPDESK_LOG_LEVEL: 'warn', COLUMNS: '200' } });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/ingest .* 3\/3 files · 3 messages/);
    expect(tty.stdout).toContain(`${path.join(dir, '2.eml')}: created HD-3 (new)`);
    const piped = runCli([...args, 'ingest', dir]);
    expect(piped.stdout.trim().split('\n')).toHaveLength(3);
    expect(piped.stdout + piped.stderr).not.toContain('files ·');
  });
});
