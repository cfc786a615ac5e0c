import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../src/lib/log';
import { pgOutboxWorker } from '../../src/mail-out/pg-outbox-worker';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { getValue } from '../../src/store/key-value';
import { usePostgres } from '../harness/use-postgres';
import { header, lastMailTo, mailTo, type SinkMessage } from '../harness/smtp-sink';
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
