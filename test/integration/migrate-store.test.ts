import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { getValue } from '../../src/store/key-value';
import { applyPgMigrations } from '../../src/store/pg/migrate';
import { ticketByRef } from '../../src/store/tickets';
import { usePostgres } from '../harness/use-postgres';
import { runCliAsync } from '../helpers/cli';
import { busyDesk } from '../helpers/busy-desk';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: `helpdesk migrate-store --to postgres://…` copies a SQLite desk into PostgreSQL,
 * verified by counts and hashes. The desk is made by the real pipeline from real mail (the
 * corpus, with attachments and odd charsets), an agent's reply and its notifications; the
 * copy is checked here independently of the command's own check, and broken on purpose.
 */
const pg = usePostgres();
const fx = smtpDesks();

async function pgClient(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

const count = async (c: Client, table: string) => Number((await c.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0].n);

test('a desk copied into PostgreSQL: every row with its id, the secret, the checkpoints and every file; a second copy is refused', async () => {
  const d = await busyDesk(fx);
  const tables = ['contacts', 'tickets', 'participants', 'messages', 'message_ids', 'attachments', 'events', 'outbox', 'inbound', 'mailbox_state', 'spam_tokens', 'key_value'];
  const sqliteCounts = Object.fromEntries(tables.map((t) => [t, (d.store.sqlite.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n]));
  expect(sqliteCounts.attachments).toBeGreaterThan(0);
  expect(sqliteCounts.outbox).toBeGreaterThan(2);
  const secret = getValue(d.store.db, 'message_id_secret');
  const hd1 = ticketByRef(d.store.db, 'HD-1');
  const raw = d.store.sqlite.prepare("select raw_path from messages where ticket_id = ? and kind = 'customer'").pluck().get(hd1?.id) as string;
  const dataDir = d.dataDir;
  await fx.close(d);

  const url = await pg().createDatabase('migrate_ok');
  const r = await runCliAsync(['--data', dataDir, 'migrate-store', '--to', url, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as { tables: { name: string; rows: number }[]; blobs: { files: number } };
  const files = ['raw', 'attachments'].flatMap((k) => readdirSync(path.join(dataDir, k)).flatMap((fan) => readdirSync(path.join(dataDir, k, fan)).filter((f) => /^[0-9a-f]{64}/.test(f))));
  expect(report.blobs.files).toBe(files.length);

  const c = await pgClient(url);
  try {
    for (const t of tables) expect([t, await count(c, t)]).toEqual([t, sqliteCounts[t]]);
    expect(report.tables.find((t) => t.name === 'messages')?.rows).toBe(sqliteCounts.messages);
    // The desk's own secret, not the one the migration generated: replies to our mail still thread.
    expect((await c.query("select value from key_value where key = 'message_id_secret'")).rows[0].value).toBe(secret);
    expect((await c.query("select uid_validity, last_uid from mailbox_state where mailbox = 'support'")).rows[0]).toEqual({ uid_validity: '1700000000', last_uid: '4242' });
    const t1 = (await c.query('select id, status, tags from tickets where ref = $1', ['HD-1'])).rows[0];
    expect(t1).toEqual({ id: hd1?.id, status: 'resolved', tags: [] });
    // The raw mail, byte for byte, under the path the message row names.
    const blob = (await c.query<{ content: Buffer }>('select content from blobs where path = $1', [raw])).rows[0];
    expect(blob.content.equals(readFileSync(path.join(dataDir, raw)))).toBe(true);
    // New rows continue after the copied ids.
    const maxId = Number((await c.query('select max(id) as m from contacts')).rows[0].m);
    const next = await c.query("insert into contacts (email, created_at) values ('new@customer.test', 0) returning id");
    expect(next.rows[0].id).toBe(maxId + 1);
    // PostgreSQL's full-text index covers the copied messages ("printer" finds "printers").
    const found = await c.query("select count(*)::int as n from messages where search @@ plainto_tsquery('english', 'printer')");
    expect(found.rows[0].n).toBeGreaterThanOrEqual(1);
  } finally {
    await c.end();
  }

  const again = await runCliAsync(['--data', dataDir, 'migrate-store', '--to', url]);
  expect(again.code).toBe(64);
  expect(again.stderr).toMatch(/already holds a desk \(contacts has \d+ rows\)/);
});

test('a damaged file in the data folder, or rows that do not read back the same: the copy is refused and PostgreSQL keeps nothing; an unreachable server is a temporary failure', async () => {
  const d = await busyDesk(fx);
  const dataDir = d.dataDir;
  const raw = d.store.sqlite.prepare("select raw_path from messages where kind = 'customer' limit 1").pluck().get() as string;
  await fx.close(d);
  const bytes = readFileSync(path.join(dataDir, raw));
  bytes[bytes.length - 3] ^= 0x20; // one bit flipped: the name (its sha256) no longer matches
  writeFileSync(path.join(dataDir, raw), bytes);

  const url = await pg().createDatabase('migrate_damaged');
  const r = await runCliAsync(['--data', dataDir, 'migrate-store', '--to', url]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`do not match their sha256: ${raw}`);
  expect(r.stderr).toContain('nothing was copied');
  const c = await pgClient(url);
  try {
    for (const t of ['tickets', 'messages', 'blobs']) expect(await count(c, t)).toBe(0);
  } finally {
    await c.end();
  }

  // Rows that do not read back as SQLite has them (here a trigger in the target alters every
  // ticket's subject as it is stored) are refused too, and nothing stays.
  const altered = await pg().createDatabase('migrate_altered');
  const a = await pgClient(altered);
  try {
    await applyPgMigrations(a);
    await a.query("create function alter_subject() returns trigger language plpgsql as $$ begin new.subject := new.subject || ' (altered)'; return new; end $$");
    await a.query('create trigger alter_subject before insert on tickets for each row execute function alter_subject()');
    const refused = await runCliAsync(['--data', dataDir, 'migrate-store', '--to', altered]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tickets: the rows read back from PostgreSQL differ from SQLite's .*; nothing was copied/);
    for (const t of ['contacts', 'tickets', 'messages']) expect(await count(a, t)).toBe(0);
  } finally {
    await a.end();
  }

  const down = await runCliAsync(['--data', dataDir, 'migrate-store', '--to', `postgres://helpdesk:secret@127.0.0.1:${pg().port + 1}/nowhere`]);
  expect(down.code).toBe(75);
  expect(down.stderr).toMatch(/cannot connect to postgres:\/\/helpdesk:\*\*\*@127\.0\.0\.1/);
  expect(down.stderr).not.toContain('secret');
});
