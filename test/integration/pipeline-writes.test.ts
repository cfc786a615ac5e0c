import { readFileSync } from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Client } from 'pg';
import { sha256Hex } from '../../src/lib/hash';
import { answersFor } from '../../src/knowledge/answers';
import { silentLogger } from '../../src/lib/log';
import { saveAttachments } from '../../src/pipeline/apply';
import { applyOnPostgres } from '../../src/pipeline/pg-apply';
import { runStages } from '../../src/pipeline/run';
import { pgStoreReader } from '../../src/pipeline/pg-store-reader';
import { getValue } from '../../src/store/key-value';
import { applyPgMigrations } from '../../src/store/pg/migrate';
import { pgRowLines, sqliteRowLines } from '../../src/store/pg/copy';
import * as pgSchema from '../../src/store/pg/schema';
import { deskTables } from '../../src/store/pg/tables';
import { usePostgres } from '../harness/postgres';
import { corpusMails, MAIL_CORPUS } from '../helpers/corpus';
import { buildMail } from '../helpers/mail';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: the pipeline's writer (apply, one plan for both stores: store/writes.ts) leaves the
 * same rows in PostgreSQL as in SQLite. The same mail goes into an empty SQLite desk (the
 * daemon's own path: stages and apply) and into an empty PostgreSQL database (the stages on
 * its reader, apply on its writes, one transaction per message); then every table is compared
 * row by row. The nonce in the Message-IDs we generate is random by design, so it is masked.
 */
const pg = usePostgres();
const fx = smtpDesks();

/** `HD-3.<nonce>.<hmac>` in our Message-IDs and body markers: random per enqueue. */
const ourToken = /(HD-\d+)\.[0-9a-f]{12}\.[0-9a-f]+/g;

test('the same mail leaves the same rows in PostgreSQL as in SQLite', async () => {
  const d = fx.open();
  const client = new Client({ connectionString: await pg().createDatabase('writes') });
  await client.connect();
  try {
    await applyPgMigrations(client);
    // Both stores sign with the same secret.
    await client.query("update key_value set value = $1 where key = 'message_id_secret'", [getValue(d.store.db, 'message_id_secret')]);
    const db = drizzle(client, { schema: pgSchema });
    const reader = pgStoreReader(db, d.config);
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
      () => buildMail({ messageId: '<p9@customer.test>', subject: 'Re: [HD-1] The printer jams', body: 'Thanks!\n#close' }),
      () => buildMail({ messageId: '<p1@customer.test>', subject: 'The printer jams', body: 'Same Message-ID, other bytes.' }),
    ];
    for (const [i, make] of mails.entries()) {
      const bytes = make();
      const onSqlite = await d.ingest(bytes);
      const rawPath = d.store.blobs.saveRaw(bytes, sha256Hex(bytes)); // content-addressed: the same file
      await client.query('BEGIN');
      const draft = await runStages({ raw: { bytes, source: 'test', position: null, mailbox: 'support' }, rawSha256: sha256Hex(bytes), rawPath, receivedAt: d.clock.now }, { config: d.config, store: reader, now: () => d.clock.now, log: silentLogger(), categoryModel: null, answers: () => answersFor(d.config) });
      const onPg = await applyOnPostgres(draft, db, d.config, saveAttachments(draft, d.store.blobs, d.config));
      await client.query('COMMIT');
      expect({ mail: i, result: onPg }).toEqual({ mail: i, result: onSqlite });
      d.clock.now += 60_000;
    }
    for (const table of deskTables()) {
      // Masked, then sorted: a table keyed by our Message-IDs is ordered by their nonces.
      const mask = (lines: Iterable<string>) => [...lines].map((l) => l.replace(ourToken, '$1.<nonce>')).sort();
      const [lite, post] = [mask(sqliteRowLines(d.store, table)), mask(await pgRowLines(client, table))];
      expect({ table: table.name, rows: post }).toEqual({ table: table.name, rows: lite });
    }
    const outcomes = d.store.sqlite.prepare('select outcome, count(*) as n from inbound group by outcome').all();
    expect(outcomes).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'created' }), expect.objectContaining({ outcome: 'appended' }), expect.objectContaining({ outcome: 'duplicate' })]));
    const events = d.store.sqlite.prepare('select distinct type from events').pluck().all();
    expect(events).toEqual(expect.arrayContaining(['created', 'assigned', 'note_added', 'priority_changed', 'participant_added', 'severity_changed', 'due_changed', 'merged_into', 'merged_from', 'commands_rejected', 'linked', 'time_spent']));
  } finally {
    await client.end();
  }
}, 60_000);
