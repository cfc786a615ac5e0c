import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getValue } from '../../src/store/key-value';
import { usePostgres } from '../harness/use-postgres';
import { corpusMails, MAIL_CORPUS } from '../helpers/corpus';
import { buildMail } from '../helpers/mail';
import { ingestAlone, pgIntakeDesk, rowsOfBoth } from '../helpers/pg-intake';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: the pipeline's writer (apply, one plan for both stores: store/writes.ts) leaves the
 * same rows in PostgreSQL as in SQLite. The same mail goes into an empty SQLite desk (the
 * daemon's own path: stages and apply) and through the intake into an empty PostgreSQL
 * database (intake/pg-intake-store.ts: raw mail and attachments in `blobs`, the stages on its
 * reader, apply on its writes, each mail its own batch); then every table is compared row by
 * row, and every attachment kept compared with SQLite's file. The nonce in the Message-IDs we generate is random by design, so it is masked.
 */
const pg = usePostgres();
const fx = smtpDesks();

test('the same mail leaves the same rows in PostgreSQL as in SQLite', async () => {
  const d = fx.open();
  const url = await pg().createDatabase('writes');
  const desk = await pgIntakeDesk(url, () => d.config, { now: () => d.clock.now, secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  const client = desk.admin;
  try {
    const ack = () => d.store.sqlite.prepare("select message_id from messages where ticket_id = 1 and direction = 'in' order by id limit 1").pluck().get() as string;
    const mails: (() => Buffer)[] = [
      () => buildMail({ messageId: '<p1@customer.test>', subject: 'The printer jams', cc: 'Dan <dan@customer.test>', body: 'Our printers jam every morning.' }),
      ...corpusMails()
        .slice(0, 40)
        .map((m) => () => readFileSync(path.join(MAIL_CORPUS, m.file))),
      () => buildMail({ messageId: '<p2@customer.test>', subject: 'Re: The printer jams', inReplyTo: ack(), body: 'Also the scanner.' }),
      () => buildMail({ messageId: '<p3@customer.test>', subject: 'Re: [HD-1] The printer jams', body: 'Any news?' }),
      () => buildMail({ messageId: '<p4@x.test>', from: 'mallory@stranger.test', subject: 'Re: [HD-1] The printer jams', body: 'Let me in.' }),
      () => buildMail({ messageId: '<p5@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', body: '#note\nChecked the rollers, waiting for parts.' }),
      () => buildMail({ messageId: '<p6@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', body: '#priority high\n#severity critical\n#cc eve@customer.test\n#time 30m' }),
      () => buildMail({ messageId: '<p6b@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', body: '#cc dan@customer.test\n#note\nDan is on it already.' }),
      () => buildMail({ messageId: '<p7@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-2]', body: '#merge HD-1' }),
      () => buildMail({ messageId: '<p8@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] The printer jams', body: '#nosuchcommand' }),
      () => buildMail({ messageId: '<p10@x.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-3]', body: '#spam' }),
      () => buildMail({ messageId: '<p9@customer.test>', subject: 'Re: [HD-1] The printer jams', body: 'Thanks!\n#close' }),
      () => buildMail({ messageId: '<p1@customer.test>', subject: 'The printer jams', body: 'Same Message-ID, other bytes.' }),
    ];
    for (const [i, make] of mails.entries()) {
      const bytes = make();
      const onSqlite = await d.ingest(bytes);
      const onPg = await ingestAlone(desk.intake, { bytes, source: 'test', position: null, mailbox: 'support' });
      expect({ mail: i, result: onPg }).toEqual({ mail: i, result: onSqlite });
      d.clock.now += 60_000;
    }
    for (const { table, sqlite, postgres } of await rowsOfBoth(d.store, client)) expect({ table, rows: postgres }).toEqual({ table, rows: sqlite });
    const outcomes = d.store.sqlite.prepare('select outcome, count(*) as n from inbound group by outcome').all();
    expect(outcomes).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'created' }), expect.objectContaining({ outcome: 'appended' }), expect.objectContaining({ outcome: 'duplicate' })]));
    // The agent's #spam taught the filter on both stores (the tables compared above), from the raw mail each keeps.
    expect(d.store.sqlite.prepare('select label from spam_learned').pluck().all()).toEqual(['spam']);
    // Every attachment kept is in PostgreSQL's blobs, with the bytes of SQLite's file.
    const kept = await client.query<{ path: string; content: Buffer }>('select a.path, b.content from attachments a left join blobs b on b.path = a.path where a.path is not null');
    expect(kept.rows.length).toBeGreaterThan(0);
    for (const row of kept.rows) expect({ path: row.path, same: row.content?.equals(d.store.blobs.read(row.path)) }).toEqual({ path: row.path, same: true });
    const events = d.store.sqlite.prepare('select distinct type from events').pluck().all();
    expect(events).toEqual(expect.arrayContaining(['created', 'assigned', 'note_added', 'priority_changed', 'participant_added', 'severity_changed', 'due_changed', 'merged_into', 'merged_from', 'commands_rejected', 'linked', 'time_spent']));
  } finally {
    await desk.close();
  }
}, 60_000);
