import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { Client } from 'pg';
import { silentLogger } from '../../src/lib/log';
import { startConfiguredDaemon } from '../../src/main';
import { pgOutboxWorker } from '../../src/mail-out/pg-outbox-worker';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { getValue } from '../../src/store/key-value';
import { freePort } from '../harness/dovecot';
import { usePostgres } from '../harness/use-postgres';
import { header, lastMailTo, mailTo, type SinkMessage } from '../harness/smtp-sink';
import { waitFor } from '../helpers/cli';
import { collectingLogger } from '../helpers/daemon';
import { FIXTURES, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail, buildMailWithFiles } from '../helpers/mail';
import { ingestAlone, pgIntakeDesk } from '../helpers/pg-intake';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: mail flows on PostgreSQL. The intake writes into a real PostgreSQL, the outbox
 * worker (mail-out/pg-outbox-worker.ts) claims the rows and sends them to a real SMTP server:
 * notices reach agent and customer, the files each sends reach the other byte for byte (read
 * from `blobs`), nothing is sent twice, and a recipient the server refuses fails the row with
 * the server's answer on the ticket.
 */
const closing: Array<() => Promise<void>> = [];
// Declared before the server's own afterAll, so the pools close before PostgreSQL stops.
afterAll(async () => {
  for (const close of closing) await close();
});
const pg = usePostgres();
const fx = smtpDesks();

const ANA = 'Ana <ana@example.test>';
const CARLA = 'Carla Customer <carla@customer.test>';

test('notices and an agent reply reach their readers with their files, each once; a refused recipient fails its row with the reason', async () => {
  const d = fx.open();
  const desk = await pgIntakeDesk(await pg().createDatabase('pg_outbox'), () => d.config, { secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  closing.push(() => desk.close());
  const worker = pgOutboxWorker({ pool: desk.pool, config: () => d.config, templates: loadTemplates(defaultTemplatesDir(), () => d.config), transport: makeTransport(d.config.outgoing, d.dataDir), log: silentLogger(), pollMs: 3_600_000 });
  closing.unshift(() => worker.stop());
  const raw = (bytes: Buffer) => ({ bytes, source: 'test', position: null, mailbox: 'support' });
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(30_000)]);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(5_000)]);
  const files = (m: SinkMessage) =>
    m.parsed.attachments.map((a) => ({ filename: a.filename, cid: a.cid ?? null, same: a.content.equals(a.filename === 'invoice.pdf' ? pdf : png) })).sort((a, b) => String(a.filename).localeCompare(String(b.filename)));
  const both = [
    { filename: 'invoice.pdf', cid: null, same: true },
    { filename: 'screenshot.png', cid: 'shot@client.test', same: true },
  ];

  expect((await ingestAlone(desk.intake, raw(buildMailWithFiles({ from: CARLA, subject: 'Printer broken', messageId: '<cf@customer.test>', text: 'See the error.', pdf, png })))).outcome).toBe('created');
  expect(await worker.drain()).toBe(2);
  expect(mailTo(fx.sink, 'carla@customer.test')).toHaveLength(1); // the acknowledgement
  const assigned = lastMailTo(fx.sink, 'ana@example.test');
  expect(files(assigned)).toEqual(both);

  const id = header(assigned, 'message-id') as string;
  const reply = buildMailWithFiles({ from: ANA, subject: `Re: ${assigned.parsed.subject}`, messageId: '<af@example.test>', inReplyTo: id, references: [id], text: 'Here is the corrected invoice.', pdf, png });
  expect((await ingestAlone(desk.intake, raw(reply))).outcome).toBe('appended');
  expect(await worker.drain()).toBe(1);
  const relay = lastMailTo(fx.sink, 'carla@customer.test');
  expect(relay.parsed.text?.startsWith('Here is the corrected invoice.')).toBe(true);
  expect(files(relay)).toEqual(both);

  fx.sink.rejectRecipient = (address) => (address === 'dora@customer.test' ? '550 5.1.1 no such user' : undefined);
  try {
    await ingestAlone(desk.intake, raw(buildMail({ from: 'Dora <dora@customer.test>', messageId: '<d1@customer.test>', subject: 'Hello' })));
    expect(await worker.drain()).toBe(2);
  } finally {
    fx.sink.rejectRecipient = undefined;
  }
  expect(await worker.drain()).toBe(0);
  const rows = await desk.admin.query<{ status: string; attempts: number; recipient: string }>("select status, attempts, recipients->>0 as recipient from outbox order by id");
  expect(rows.rows.filter((r) => r.status !== 'sent')).toEqual([{ status: 'failed', attempts: 1, recipient: 'dora@customer.test' }]);
  expect(rows.rows.map((r) => r.attempts)).toEqual(rows.rows.map(() => 1));
  // Every Message-ID reached the server once.
  const ids = fx.sink.messages.map((m) => header(m, 'message-id'));
  expect(new Set(ids).size).toBe(ids.length);
  const failed = await desk.admin.query<{ type: string; reason: string }>("select type, reason from events where type = 'delivery_failed'");
  expect(failed.rows).toEqual([{ type: 'delivery_failed', reason: expect.stringMatching(/^ack: .*550 5\.1\.1 no such user/) }]);
}, 60_000);

test('a daemon on PostgreSQL mails the admins once when a mailbox it holds cannot be read', async () => {
  const url = await pg().createDatabase('pg_alert');
  const { log, logs } = collectingLogger();
  const dataDir = tempDir('hd-pg-alert-');
  // Nothing listens on this port: every connection is refused.
  const port = await freePort();
  const configDir = writeConfigDir({
    'helpdesk.yaml': `helpdesk: { address: support@example.test }\nstore: { postgres: { url: "${url}" } }\ncluster: { leaseTtl: 3s }\nhealth: { alertAfter: 1s }\nmailboxes:\n  - id: broken\n    imap: { host: 127.0.0.1, port: ${port}, secure: false, user: support@example.test, pass: test }\n`,
  });
  const daemon = await startConfiguredDaemon({ configDir, dataDir }, log);
  try {
    // Written by the PostgreSQL outbox and the embedded default transport (files in --data).
    const outbox = path.join(dataDir, 'outbox');
    const alerts = await waitFor(() => existsSync(outbox) && readdirSync(outbox).filter((f) => f.includes('mailbox_unhealthy')), 20_000, 'alert mail');
    expect(alerts).toHaveLength(1);
    const alert = await simpleParser(readFileSync(path.join(outbox, alerts[0])));
    expect(alert.subject).toBe('Mailbox broken cannot be read');
    expect(alert.text).toContain('ECONNREFUSED');
    expect(logs.filter((l) => l.msg === 'unhealthy-mailbox alert queued')).toEqual([expect.objectContaining({ mailbox: 'broken', admins: 1 })]);
  } finally {
    await daemon.stop();
  }
  const check = new Client({ connectionString: url });
  await check.connect();
  try {
    const rows = await check.query<{ template: string; status: string }>('select template, status from outbox');
    expect(rows.rows).toEqual([{ template: 'mailbox_unhealthy', status: 'sent' }]);
  } finally {
    await check.end();
  }
}, 60_000);

test('notices from PostgreSQL suggest the similar solved ticket with the reply that solved it, and articles; an unrelated question gets none', async () => {
  const d = fx.open();
  cpSync(path.join(FIXTURES, 'kb'), path.join(d.config.dir, 'kb'), { recursive: true });
  const desk = await pgIntakeDesk(await pg().createDatabase('pg_suggest'), () => d.config, { secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  closing.push(() => desk.close());
  const worker = pgOutboxWorker({ pool: desk.pool, config: () => d.config, templates: loadTemplates(defaultTemplatesDir(), () => d.config), transport: makeTransport(d.config.outgoing, d.dataDir), log: silentLogger(), pollMs: 3_600_000 });
  closing.unshift(() => worker.stop());
  const raw = (bytes: Buffer) => ({ bytes, source: 'test', position: null, mailbox: 'support' });
  const answer = (m: SinkMessage, body: string) => buildMail({ from: ANA, subject: `Re: ${m.parsed.subject}`, inReplyTo: header(m, 'message-id') as string, body });
  await ingestAlone(desk.intake, raw(buildMail({ from: 'Bo <bo@other.test>', messageId: '<q1@other.test>', subject: 'apt-get dist-upgrade fails on Red Hat 8', body: 'apt-get dist-upgrade stops with unmet dependencies for openssh after I changed sources.list.' })));
  await worker.drain();
  await ingestAlone(desk.intake, raw(answer(lastMailTo(fx.sink, 'ana@example.test'), '#status resolved\nRun apt-get update first, then apt-get -f install to repair the half-installed openssh.\nAfter that dist-upgrade goes through.')));
  await worker.drain();

  await ingestAlone(desk.intake, raw(buildMail({ from: CARLA, messageId: '<q2@customer.test>', subject: 'openssh unmet dependencies', body: 'apt-get dist-upgrade says unmet dependencies for openssh. What now?' })));
  await worker.drain();
  const notice = lastMailTo(fx.sink, 'ana@example.test');
  expect(notice.parsed.subject).toContain('[HD-2]');
  expect(notice.parsed.text).toContain('Articles that may answer it:\n- Using apt-get on Red Hat systems (apt-rpm) [kb: linux/apt-rpm]');
  expect(notice.parsed.text).toContain('Similar solved tickets:\n- HD-1 apt-get dist-upgrade fails on Red Hat 8\n> Run apt-get update first, then apt-get -f install to repair the half-installed openssh.\n> After that dist-upgrade goes through.');
  const suggested = await desk.admin.query<{ to_value: string; reason: string }>("select e.to_value, e.reason from events e join tickets t on t.id = e.ticket_id where t.ref = 'HD-2' and e.type = 'articles_suggested'");
  expect(suggested.rows).toEqual([{ to_value: expect.stringContaining('linux/apt-rpm'), reason: 'similar solved tickets: HD-1' }]);

  await ingestAlone(desk.intake, raw(buildMail({ from: 'Dan <dan@customer.test>', messageId: '<q3@customer.test>', subject: 'Invoice', body: 'Hello, thanks.' })));
  await worker.drain();
  const unrelated = lastMailTo(fx.sink, 'ana@example.test');
  expect(unrelated.parsed.subject).toContain('[HD-3]');
  expect(unrelated.parsed.text).not.toContain('Similar solved tickets');
  expect(unrelated.parsed.text).not.toContain('Articles that may answer it');
}, 60_000);
