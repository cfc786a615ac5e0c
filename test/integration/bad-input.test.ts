import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs, { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseMail } from '../../src/pipeline/stages/parse';
import { spamInput } from '../../src/spam/spam-input';
import { createIntake } from '../../src/intake/intake';
import { sqliteIntakeStore } from '../../src/intake/intake-store';
import { silentLogger } from '../../src/lib/log';
import { messagesFromPaths } from '../../src/mail-in/files';
import { maildirSource } from '../../src/mail-in/maildir';
import { mailboxStateStore } from '../../src/store/mailbox-state';
import { openTestDesk, removeTempDirs, tempDir, type TestDesk } from '../helpers/env';
import { sqliteOnly } from '../helpers/test-store';
import { buildMail } from '../helpers/mail';
import { waitFor } from '../helpers/cli';
import { startTestDaemon } from '../helpers/daemon';

let desk: TestDesk;
beforeEach(() => {
  desk = openTestDesk();
});
afterEach(() => {
  desk.close();
  removeTempDirs();
});

/** Every file below a directory, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('bad input gets an outcome and a clear reason, and the next message still works', () => {
  it('quarantines an empty file, keeping a record', async () => {
    const r = await desk.ingest(Buffer.alloc(0));
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'empty message (0 bytes)' });
    expect((await desk.view.listInbound({ outcome: 'quarantined' }))).toHaveLength(1);
  });

  it('quarantines binary garbage as "not an email message", raw bytes kept', async () => {
    const garbage = randomBytes(4096);
    const r = await desk.ingest(garbage);
    expect(r.outcome).toBe('quarantined');
    expect(r.reason).toMatch(/^parse: not an email message/);
    const [row] = (await desk.view.listInbound({ outcome: 'quarantined' }));
    expect((await desk.view.readFile(row.rawPath as string))?.equals(garbage)).toBe(true);
  });

  it('never takes random bytes for mail (the Content-Type assumed for 8-bit bodies does not count as a header)', async () => {
    // One in 17 random buffers used to pass: the windows-1252 Content-Type that parse adds to
    // an 8-bit message without one was taken for a mail header.
    for (let i = 0; i < 300; i++) {
      const garbage = randomBytes(4096);
      await expect(parseMail(garbage)).rejects.toThrow(/^not an email message/);
      expect(() => spamInput(garbage)).toThrow(/^not an email message/);
    }
    // A message without Content-Type whose body is 8-bit still gets it, is still mail, and says so.
    const latin1 = Buffer.concat([Buffer.from('From: a@b.test\r\nSubject: caf\xe9\r\n\r\n', 'latin1'), Buffer.from('caf\xe9 cr\xe8me', 'latin1')]);
    const parsed = await parseMail(latin1);
    expect(parsed.text).toContain('café crème');
    expect(parsed.headers).toContainEqual({ name: 'x-helpdesk-assumed', value: 'Content-Type (8-bit body without one)' });
    // A Content-Type the sender wrote counts, even one that reads like the assumed one.
    const own = Buffer.from('Content-Type: text/plain; charset=windows-1252\r\n\r\ncaf\xe9', 'latin1');
    expect((await parseMail(own)).text).toBe('café');
  });

  it('quarantines a 50 MB message over the size limit without parsing it, raw bytes kept', async () => {
    const big = Buffer.concat([buildMail({ messageId: '<big@x.test>' }), Buffer.alloc(50 * 1024 * 1024, 'A')]);
    const r = await desk.ingest(big);
    expect(r.outcome).toBe('quarantined');
    expect(r.reason).toMatch(/over limits\.maxMessageSize \(26214400 bytes\)/);
    const [row] = (await desk.view.listInbound({ outcome: 'quarantined' }));
    expect((await desk.view.readFile(row.rawPath as string))?.length).toBe(big.length);
  });

  it('makes a ticket of a message with headers only', async () => {
    const r = await desk.ingest('From: a@customer.test\r\nTo: support@example.test\r\nSubject: no body\r\nMessage-ID: <hdr@x.test>\r\n');
    expect(r.outcome).toBe('created');
    expect((await desk.view.showTicket(r.ticket as string))?.messages[0].text).toBe('');
  });

  it('keeps the text of a message with broken MIME boundaries', async () => {
    const raw = [
      'From: a@customer.test',
      'To: support@example.test',
      'Subject: broken',
      'Message-ID: <broken@x.test>',
      'Content-Type: multipart/mixed; boundary="declared"',
      '',
      '--other',
      'Content-Type: text/plain',
      '',
      'The text is still here.',
      '--other',
      '',
    ].join('\r\n');
    const r = await desk.ingest(raw);
    expect(r.outcome).toBe('created');
    expect((await desk.view.showTicket(r.ticket as string))?.messages[0].text).toContain('The text is still here.');
  });

  it('decodes a message with raw 8-bit headers instead of rejecting it', async () => {
    const raw = Buffer.concat([Buffer.from('From: J\xfcrgen <j@customer.test>\r\nTo: support@example.test\r\nSubject: Gr\xfc\xdfe\r\nMessage-ID: <8@x.test>\r\n\r\nhallo\r\n', 'latin1')]);
    const r = await desk.ingest(raw);
    const t = (await desk.view.showTicket(r.ticket as string));
    expect(t?.subject).toBe('Grüße');
    expect(t?.messages[0].fromName).toBe('Jürgen');
  });

  it('stores an attachment named ../../etc/passwd under its hash, with a sanitised name, inside data/', async () => {
    const raw = [
      'From: a@customer.test',
      'To: support@example.test',
      'Subject: evil names',
      'Message-ID: <evil@x.test>',
      'Content-Type: multipart/mixed; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'see files',
      '--B',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="../../etc/passwd"',
      '',
      'root:x:0:0',
      '--B',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="..\\\\..\\\\win.ini\x01\x7f"',
      '',
      'x',
      '--B--',
      '',
    ].join('\r\n');
    const r = await desk.ingest(raw);
    expect(r.outcome).toBe('created');
    const atts = (await desk.view.showTicket(r.ticket as string))?.messages[0].attachments ?? [];
    expect(atts.map((a) => a.filename)).toEqual(['passwd', 'win.ini']);
    for (const f of filesUnder(desk.dataDir)) expect(f).toMatch(/^(helpdesk\.sqlite(-wal|-shm)?|raw\/[0-9a-f]{2}\/[0-9a-f]{64}\.eml|attachments\/[0-9a-f]{2}\/[0-9a-f]{64})$/);
    expect(existsSync(path.resolve(desk.dataDir, '../../etc/passwd.tmp'))).toBe(false);
  });

  it('records an attachment over limits.maxAttachmentSize without storing its body', async () => {
    desk.close();
    desk = openTestDesk({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nlimits: { maxAttachmentSize: 10 }\n' });
    const raw = 'From: a@customer.test\r\nTo: support@example.test\r\nSubject: big\r\nMessage-ID: <att@x.test>\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="big.pdf"\r\n\r\n0123456789abcdef\r\n--B--\r\n';
    const r = await desk.ingest(raw);
    const [att] = (await desk.view.showTicket(r.ticket as string))?.messages[0].attachments ?? [];
    expect(att).toMatchObject({ filename: 'big.pdf', path: null, omittedReason: expect.stringMatching(/over limits\.maxAttachmentSize \(10 bytes\)/) });
  });

  it('processes the next message normally after a bad one', async () => {
    await desk.ingest(randomBytes(100));
    const r = await desk.ingest(buildMail({}));
    expect(r.outcome).toBe('created');
  });

  it('retries a quarantined message when it is ingested again (it is not a duplicate)', async () => {
    const raw = Buffer.alloc(0);
    await desk.ingest(raw);
    expect((await desk.ingest(raw)).outcome).toBe('quarantined');
  });
});

describe('a file over limits.maxMessageSize', () => {
  // The SQLite intake store and its source state; PostgreSQL's chunked copy: pg-intake.test.ts.
  sqliteOnly('is never read into memory: copied into the store as it streams, quarantined with the reason, and acknowledged', async () => {
    desk.close();
    desk = openTestDesk({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nlimits: { maxMessageSize: 1MB }\n' });
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    const big = Buffer.concat([buildMail({ messageId: '<huge@x.test>' }), Buffer.alloc(6 * 1024 * 1024, 'A')]);
    writeFileSync(path.join(dir, 'new', '1.huge'), big);
    writeFileSync(path.join(dir, 'new', '2.small'), buildMail({ messageId: '<after-huge@x.test>' }));
    const reads = jest.spyOn(fs, 'readFileSync');
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false });
    const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger(), maxMessageSize: desk.config.limits.maxMessageSize });
    try {
      await source.start(intake);
      // Read by path nowhere, and by descriptor (as the source reads new/) only once: the small one.
      expect(reads.mock.calls.map(([file]) => String(file)).filter((f) => f.endsWith('1.huge'))).toEqual([]);
      expect(reads.mock.calls.filter(([file]) => typeof file === 'number')).toHaveLength(1);
      expect(readdirSync(path.join(dir, 'new'))).toEqual([]);
      const [row] = (await desk.view.listInbound({ outcome: 'quarantined' }));
      expect(row).toMatchObject({ position: '1.huge', size: big.length, rawSha256: createHash('sha256').update(big).digest('hex') });
      expect(row.reason).toMatch(/over limits\.maxMessageSize \(1048576 bytes\)/);
      expect(readFileSync(path.join(desk.dataDir, row.rawPath as string)).equals(big)).toBe(true);
      expect((await desk.view.listInbound({ outcome: 'created' }))).toHaveLength(1); // the next message went on
    } finally {
      reads.mockRestore();
      await source.stop();
      await intake.close();
    }
  });

  sqliteOnly('named in bytes that are not UTF-8 (a Latin-1 name), is read and moved like any other, its name kept byte for byte', async () => {
    desk.close();
    desk = openTestDesk({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nlimits: { maxMessageSize: 1MB }\n' });
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    const latin1 = (name: string) => Buffer.from(name, 'latin1');
    const inNew = (name: Buffer) => Buffer.concat([Buffer.from(path.join(dir, 'new') + path.sep), name]);
    writeFileSync(inNew(latin1('1.rechnung-märz.eml')), buildMail({ messageId: '<maerz@x.test>', subject: 'Rechnung März' }));
    writeFileSync(inNew(latin1('2.groß.eml')), Buffer.concat([buildMail({ messageId: '<gross@x.test>' }), Buffer.alloc(2 * 1024 * 1024, 'A')]));
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false });
    const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger(), maxMessageSize: desk.config.limits.maxMessageSize });
    try {
      await source.start(intake);
      expect(readdirSync(path.join(dir, 'new'))).toEqual([]);
      expect(readdirSync(path.join(dir, 'cur'), { encoding: 'buffer' }).map((n) => n.toString('latin1')).sort()).toEqual(['1.rechnung-märz.eml:2,S', '2.groß.eml:2,S']);
      expect((await desk.view.ticketByRef('HD-1'))?.subject).toBe('Rechnung März');
      const [big] = await desk.view.listInbound({ outcome: 'quarantined' });
      expect(big).toMatchObject({ position: '2.gro\\xdf.eml' });
      expect(big.reason).toMatch(/over limits\.maxMessageSize/);
    } finally {
      await source.stop();
      await intake.close();
    }
  });

  it('given to `helpdesk ingest` (or spam training), is offered by size and path, not read; a name in any bytes is read', async () => {
    const dir = tempDir('hd-files-');
    writeFileSync(path.join(dir, 'a-big'), Buffer.alloc(2048, 'A'));
    writeFileSync(path.join(dir, 'b-small'), buildMail({ messageId: '<s@x.test>' }));
    // A name that is not UTF-8 is read as any other (it used to stop the whole run with ENOENT).
    writeFileSync(Buffer.from(path.join(dir, 'c-rächnung'), 'latin1'), buildMail({ messageId: '<l@x.test>' }));
    const reads = jest.spyOn(fs, 'readFileSync');
    try {
      const raws = [];
      for await (const raw of messagesFromPaths([dir], 1024)) raws.push(raw);
      expect(raws.map((r) => [path.basename(r.source), r.oversized?.size ?? null, r.bytes.length > 0])).toEqual([
        ['a-big', 2048, false],
        ['b-small', null, true],
        ['c-r\\xe4chnung', null, true],
      ]);
      expect(reads.mock.calls.filter(([file]) => String(file).endsWith('a-big'))).toEqual([]);
    } finally {
      reads.mockRestore();
    }
  });
});

describe('an agent forwarding a message as an attachment, through the intake', () => {
  // The attached message is parsed before the store's write turn (pipeline/prepare.ts).
  sqliteOnly('makes the ticket of the original sender; one that is no mail leaves the agent\'s ticket with the reason', async () => {
    const forward = (n: number, inner: string) =>
      Buffer.from(`From: Ana <ana@example.test>\r\nTo: support@example.test\r\nSubject: Fwd: ${n}\r\nMessage-ID: <fwd-${n}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="X"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nPlease look.\r\n--X\r\nContent-Type: message/rfc822\r\n\r\n${inner}\r\n--X--\r\n`);
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger() });
    try {
      const raws = [forward(1, buildMail({ from: 'Grace <grace@customer.test>', subject: 'VPN down' }).toString()), forward(2, '\u0001\u0002 not a mail')];
      const pass = await intake.run(raws.map((bytes, i) => ({ raw: { bytes, source: 'test', position: String(i), mailbox: 'support' }, ack: () => undefined })));
      expect(pass).toEqual({ acknowledged: 2, failure: null });
      expect(await desk.view.showTicket('HD-1')).toMatchObject({ customer: 'grace@customer.test', subject: 'VPN down' });
      const unread = await desk.view.showTicket('HD-2');
      expect(unread).toMatchObject({ customer: 'ana@example.test' });
      expect(unread?.events.find((e) => e.type === 'forward_unread')?.reason).toMatch(/^the forwarded message could not be read \(not an email message/);
    } finally {
      await intake.close();
    }
  });
});

describe('an entry of a Maildir\'s new/ that is not a message file', () => {
  it('(a FIFO, a directory, a symlink out of the Maildir) is left where it is, reported once, and holds up no mail', async () => {
    const dir = tempDir('hd-maildir-');
    const fresh = path.join(dir, 'new');
    mkdirSync(fresh, { recursive: true });
    const secret = path.join(tempDir('hd-outside-'), 'secret.eml');
    writeFileSync(secret, buildMail({ messageId: '<outside@x.test>', subject: 'outside the maildir' }));
    const fifo = path.join(fresh, '1.fifo');
    execFileSync('mkfifo', [fifo]);
    mkdirSync(path.join(fresh, '2.dir'));
    symlinkSync(secret, path.join(fresh, '3.link'));
    writeFileSync(path.join(fresh, '4.mail'), buildMail({ messageId: '<after-fifo@x.test>', subject: 'after the fifo' }));
    // A daemon that opened the FIFO to read it would wait, every mailbox and job with it, for a
    // writer: this one writes after 5 s, so that such a daemon fails below instead of hanging.
    const writer = spawn('sh', ['-c', `sleep 5; echo x > '${fifo}'`], { stdio: 'ignore' });
    const desk = await startTestDaemon(`helpdesk: { address: support@example.test }\nmailboxes:\n  - id: local\n    maildir: ${dir}\n`);
    try {
      await waitFor(async () => (await desk.view.ticketByRef('HD-1'))?.subject === 'after the fifo', 15_000, 'the mail after the fifo');
      // A second scan (the watch sees the new file) reports nothing again.
      writeFileSync(path.join(fresh, '5.mail'), buildMail({ messageId: '<second-scan@x.test>', subject: 'second scan' }));
      await waitFor(async () => (await desk.view.ticketByRef('HD-2'))?.subject === 'second scan', 15_000, 'the second scan');
      expect(readdirSync(fresh).sort()).toEqual(['1.fifo', '2.dir', '3.link']);
      expect(await desk.view.ticketByRef('HD-3')).toBeNull();
      expect(await desk.view.listInbound({ outcome: 'quarantined' })).toEqual([]);
      const reported = desk.logs.filter((l) => l.level === 40 && /not a message file/.test(l.msg)).map((l) => l.msg);
      expect(reported).toEqual([
        'new/1.fifo is a FIFO, not a message file; left where it is',
        'new/2.dir is a directory, not a message file; left where it is',
        'new/3.link is a symbolic link, not a message file; left where it is',
      ]);
      // `helpdesk status` shows the last of them as the mailbox's last error.
      expect((await desk.view.mailboxState('local'))?.lastError).toBe('new/3.link is a symbolic link, not a message file; left where it is');
      // Nor do they count as mail waiting: the scan after the last move finds no backlog.
      await waitFor(async () => (await desk.view.mailboxState('local'))?.backlog === 0 || undefined, 5000, 'no backlog once the mail is in');
    } finally {
      writer.kill();
      await desk.stop();
    }
  });
});
