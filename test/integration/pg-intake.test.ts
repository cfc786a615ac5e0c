import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { acquireLease } from '../../src/cluster/leases';
import { loadConfig } from '../../src/config/load';
import { sleep } from '../../src/lib/backoff';
import type { RawMessage } from '../../src/pipeline/types';
import type { PgTimeouts } from '../../src/store/pg/pool';
import { getValue } from '../../src/store/key-value';
import { getValue as pgGetValue } from '../../src/store/pg/reads';
import { inPgTransaction } from '../../src/store/pg/transaction';
import { sql } from 'drizzle-orm';
import * as pgSchema from '../../src/store/pg/schema';
import { drizzle } from 'drizzle-orm/node-postgres';
import { startTcpProxy } from '../harness/tcp-proxy';
import { usePostgres } from '../harness/use-postgres';
import { runCliAsync } from '../helpers/cli';
import { corpusMails, MAIL_CORPUS } from '../helpers/corpus';
import { FIXTURES, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail, buildMailWithFiles } from '../helpers/mail';
import { ingestAlone, passOver, pgIntakeDesk } from '../helpers/pg-intake';
import { seededRandom, testSeed } from '../helpers/random';
import { AGENTS, smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: the intake's batches on PostgreSQL (intake/pg-intake-store.ts) keep the intake's
 * promise: nothing is acknowledged that is not committed, a failing message is quarantined
 * alone, a batch whose connection dies or whose mailbox lease was lost is acknowledged to no
 * one and its mail is processed once when offered again.
 */
const desks: Array<{ close(): Promise<void> }> = [];
// Declared before the server's own afterAll, so the pools close before PostgreSQL stops.
afterAll(async () => {
  await Promise.all(desks.map((d) => d.close()));
});
const pg = usePostgres();
const fx = smtpDesks();

async function desk(name: string, options: { batchMessages?: number; batchMs?: number; timeouts?: PgTimeouts } = {}) {
  const d = fx.open();
  const desk = await pgIntakeDesk(await pg().createDatabase(name), () => d.config, { secret: getValue(d.store.db, 'message_id_secret') ?? undefined, ...options });
  desks.push(desk);
  return desk;
}

const corpus = (n: number, source = 'corpus'): RawMessage[] =>
  corpusMails()
    .slice(0, n)
    .map((m, i) => ({ bytes: readFileSync(path.join(MAIL_CORPUS, m.file)), source, position: String(i), mailbox: 'support' }));

const count = async (d: { admin: { query(q: string): Promise<{ rows: Array<{ n: string }> }> } }, table: string) => Number((await d.admin.query(`select count(*) as n from ${table}`)).rows[0].n);

test('a batch is kept whole: a mail with NUL characters becomes a ticket, raw mail and oversized mail are kept in blobs', async () => {
  const d = await desk('pg_intake_kept', { batchMessages: 100 });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hd-pg-oversized-'));
  try {
    // 20 MiB on disk: copied in three chunks, never read into memory whole.
    const big = path.join(tmp, 'big.eml');
    writeFileSync(big, Buffer.concat([buildMail({ messageId: '<big@customer.test>', subject: 'Big', body: 'x' }), randomBytes(20 << 20)]));
    const raws: RawMessage[] = [
      ...corpus(10),
      // PostgreSQL's text cannot hold NUL (SQLite's can): before parse dropped it, this mail
      // was refused, and its quarantine record, whose reason quoted it, refused too: offered
      // again and again, it stalled the mailbox.
      { bytes: buildMail({ messageId: '<nul@customer.test>', subject: 'NUL \u0000 in the subject', body: 'and \u0000 in the body' }), source: 'nul', position: null, mailbox: 'support' },
      { bytes: Buffer.alloc(0), source: big, position: null, mailbox: 'support', oversized: { file: big, size: 20 << 20 } },
      ...corpus(15).slice(10),
    ];
    const { acked, failure } = await passOver(d.intake, raws);
    expect(failure).toBeNull();
    expect(acked.map((a) => a.raw.source)).toEqual(raws.map((r) => r.source));
    const outcomes = Object.fromEntries(acked.map((a) => [a.raw.source + (a.raw.position ?? ''), a.result.outcome]));
    expect(outcomes.nul).toBe('created');
    expect((await d.admin.query("select subject from tickets where subject like 'NUL%'")).rows).toEqual([{ subject: 'NUL  in the subject' }]);
    expect(outcomes[big]).toBe('quarantined');
    // Every raw mail is in blobs with its bytes.
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const bigSha = sha(readFileSync(big));
    const kept = await d.admin.query<{ path: string; ok: boolean }>("select path, encode(sha256(content), 'hex') = sha256 as ok from blobs where path like 'raw/%'");
    expect(kept.rows.every((r) => r.ok)).toBe(true);
    expect(kept.rows.map((r) => r.path)).toContain(`raw/${bigSha.slice(0, 2)}/${bigSha}.eml`);
    expect(await count(d, 'inbound')).toBe(raws.length);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);

test('a batch whose connection is killed is acknowledged to no one; offered again, every message is processed once', async () => {
  const seed = testSeed();
  process.stdout.write(`pg intake, killed connection: seed ${seed}; HD_SEED=${seed} replays it\n`);
  const random = seededRandom(seed);
  const d = await desk('pg_intake_killed', { batchMessages: 6, batchMs: 60_000 });
  const raws = corpus(30);
  // While a batch of six holds at least one message (not right after a commit).
  let killAt = 0;
  while (killAt % 6 === 0) killAt = 1 + Math.floor(random() * (raws.length - 2));
  async function* offered() {
    for (const [i, raw] of raws.entries()) {
      if (i === killAt) await d.admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
      yield raw;
    }
  }
  const first = await passOver(d.intake, offered());
  expect(first.failure?.name).toBe('StoreUnavailableError');
  // What was acknowledged is exactly what was committed: whole batches before the kill.
  const committed = (await d.admin.query<{ source: string; position: string }>('select source, position from inbound order by id')).rows.map((r) => r.position);
  expect(committed).toEqual(first.acked.map((a) => a.raw.position));
  expect(first.acked.length).toBe(killAt - (killAt % 6));
  // Offered again from the start: the acknowledged ones are re-deliveries, the rest processed
  // as they are on a database that never saw a failure.
  const second = await passOver(d.intake, raws);
  expect(second.failure).toBeNull();
  const reference = await desk('pg_intake_reference', { batchMessages: 6, batchMs: 60_000 });
  const clean = await passOver(reference.intake, raws);
  const outcome = new Map(clean.acked.map((a) => [a.raw.position, a.result.outcome]));
  const before = new Set(first.acked.map((a) => a.raw.position));
  for (const { raw, result } of second.acked) {
    expect({ position: raw.position, outcome: result.outcome }).toEqual({ position: raw.position, outcome: before.has(raw.position) ? 'duplicate' : outcome.get(raw.position) });
  }
  for (const table of ['tickets', 'messages', 'attachments', 'outbox']) expect({ table, rows: await count(d, table) }).toEqual({ table, rows: await count(reference, table) });
}, 60_000);

test('a pass right after PostgreSQL ended every connection (a restart, a fail-over) goes through: a dead connection from the pool is replaced', async () => {
  const d = await desk('pg_intake_restarted');
  const mail = (n: number): RawMessage => ({ bytes: buildMail({ messageId: `<restart.${n}@customer.test>`, subject: `Mail ${n}`, body: 'Hello' }), source: 'support', position: String(n), mailbox: 'support' });
  for (let round = 0; round < 5; round++) {
    // The pool holds idle connections, as a daemon's does between batches.
    expect((await passOver(d.intake, [mail(2 * round)])).failure).toBeNull();
    expect(d.pool.idleCount).toBeGreaterThan(0);
    await d.admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    // At once: the pool has not yet seen that its idle connections are gone.
    const after = await passOver(d.intake, [mail(2 * round + 1)]);
    expect({ round, failure: after.failure?.message ?? null }).toEqual({ round, failure: null });
  }
  expect(await count(d, 'tickets')).toBe(10);
}, 30_000);

test('a transaction whose connection dies while no statement runs (the outbox sending a mail) fails with an error, never an uncaught one', async () => {
  const d = await desk('pg_intake_tx_dies');
  const attempt = inPgTransaction(d.pool, async (db) => {
    const pid = (await db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)).rows[0].pid;
    await d.admin.query('select pg_terminate_backend($1)', [pid]);
    // No statement running while the server ends the connection, as while the outbox sends.
    await sleep(300);
    await db.execute(sql`select 1`);
  });
  await expect(attempt).rejects.toThrow();
  // The pool goes on.
  expect((await d.pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
});

test('a network that holds every packet (a partition) fails a batch, or any transaction, after one query timeout instead of stalling it; healed, the mail goes through once', async () => {
  const url = await pg().createDatabase('pg_intake_partition');
  const proxy = await startTcpProxy(Number(new URL(url).port));
  const d0 = fx.open();
  const QUERY_MS = 1500;
  const d = await pgIntakeDesk(url.replace(`:${new URL(url).port}/`, `:${proxy.port}/`), () => d0.config, { timeouts: { lockMs: 30_000, idleInTransactionMs: 60_000, queryMs: QUERY_MS, connectMs: 10_000 } });
  desks.push({ close: async () => (await d.close(), await proxy.close()) });
  const mail = (n: number): RawMessage => ({ bytes: buildMail({ messageId: `<partition.${n}@customer.test>`, subject: `Mail ${n}`, body: 'Hello' }), source: 'support', position: String(n), mailbox: 'support' });
  expect((await passOver(d.intake, [mail(1)])).failure).toBeNull();
  let frozen = false;
  async function* offered() {
    yield mail(2);
    // The network stops answering while the batch holds its second message.
    proxy.freeze();
    frozen = true;
    yield mail(3);
  }
  const started = Date.now();
  const stalled = await passOver(d.intake, offered());
  expect(frozen).toBe(true);
  expect(stalled.failure?.name).toBe('StoreUnavailableError');
  expect(stalled.acked).toEqual([]);
  // One timeout, not one per statement queued behind the unanswered one (ROLLBACK TO SAVEPOINT, ROLLBACK).
  expect(Date.now() - started).toBeLessThan(2 * QUERY_MS);
  // Any other transaction (the outbox's, a staff change) gives its connection up after one timeout too.
  proxy.thaw();
  const txStarted = Date.now();
  const tx = inPgTransaction(d.pool, async (db) => {
    await db.execute(sql`select 1`);
    proxy.freeze();
    await db.execute(sql`select 2`);
  });
  await expect(tx).rejects.toThrow();
  expect(Date.now() - txStarted).toBeLessThan(2 * QUERY_MS);
  proxy.thaw();
  const again = await passOver(d.intake, [mail(2), mail(3)]);
  expect(again.failure).toBeNull();
  expect(again.acked.map((a) => a.result.outcome)).toEqual(['created', 'created']);
  expect(await count(d, 'tickets')).toBe(3);
}, 30_000);

test('a batch of a daemon that lost its mailbox lease does not commit; the next holder processes the mail once', async () => {
  const d = await desk('pg_intake_fence', { batchMessages: 100, batchMs: 10_000 });
  const mine = await acquireLease(d.pool, 'support', 'daemon-a', 500);
  if (!mine) throw new Error('no lease');
  const raws = corpus(5);
  async function* offered() {
    yield* raws.slice(0, 3);
    // Frozen past the lease's end; another daemon takes the mailbox over meanwhile.
    await sleep(700);
    expect(await acquireLease(d.pool, 'support', 'daemon-b', 30_000)).not.toBeNull();
    yield* raws.slice(3);
  }
  const late = await passOver(d.intake, offered(), { lease: mine });
  expect(late.acked).toEqual([]);
  expect(late.failure?.message).toMatch(/lease of mailbox support .* was lost/);
  expect(await count(d, 'inbound')).toBe(0);
  expect(await count(d, 'blobs')).toBe(0);
  const theirs = (await d.admin.query<{ generation: string }>("select generation from mailbox_leases where mailbox = 'support'")).rows[0];
  const next = await passOver(d.intake, raws, { lease: { mailbox: 'support', holder: 'daemon-b', generation: Number(theirs.generation), expiresAt: 0 } });
  expect(next.failure).toBeNull();
  expect(next.acked.map((a) => a.result.outcome)).not.toContain('duplicate');
  expect(await count(d, 'inbound')).toBe(5);
}, 30_000);

test('one mail in two mailboxes at once: two batches side by side create it once', async () => {
  const d = await desk('pg_intake_twice', { batchMessages: 100, batchMs: 10_000 });
  // Delivered to both addresses: the same Message-ID, other bytes (each copy its own Delivered-To).
  const copy = (to: string) => Buffer.concat([Buffer.from(`Delivered-To: ${to}\r\n`), buildMail({ messageId: '<twice@customer.test>', subject: 'Sent to both addresses', body: 'Hello' })]);
  let firstWrote!: () => void;
  const wrote = new Promise<void>((resolve) => (firstWrote = resolve));
  async function* one() {
    yield { bytes: copy('support@example.test'), source: 'one', position: null, mailbox: 'support' } as RawMessage;
    // The first batch stays open (holding what it wrote) while the second takes the same mail.
    firstWrote();
    await sleep(500);
  }
  async function* two() {
    await wrote;
    await sleep(100);
    yield { bytes: copy('sales@example.test'), source: 'two', position: null, mailbox: 'sales' } as RawMessage;
  }
  const [a, b] = await Promise.all([passOver(d.intake, one()), passOver(d.intake, two())]);
  expect([a.failure, b.failure]).toEqual([null, null]);
  expect([a.acked[0].result.outcome, b.acked[0].result.outcome]).toEqual(['created', 'duplicate']);
  expect(await count(d, 'tickets')).toBe(1);
}, 30_000);

test('two batches naming the same new people in another order never deadlock: each new contact is written outside the batch', async () => {
  const d = await desk('pg_intake_contacts', { batchMessages: 100, batchMs: 10_000 });
  const from = (who: string, n: string) => buildMail({ from: `${who}@new.test`, messageId: `<${who}.${n}@new.test>`, subject: `From ${who} (${n})`, body: 'Hello' });
  // Batch one writes x then y; batch two writes y then x, each waiting until the other has written its first.
  let oneWrote!: () => void;
  let twoWrote!: () => void;
  const oneFirst = new Promise<void>((resolve) => (oneWrote = resolve));
  const twoFirst = new Promise<void>((resolve) => (twoWrote = resolve));
  async function* one() {
    yield { bytes: from('x', 'one'), source: 'one', position: null, mailbox: 'support' } as RawMessage;
    oneWrote();
    await twoFirst;
    yield { bytes: from('y', 'one'), source: 'one', position: null, mailbox: 'support' } as RawMessage;
  }
  async function* two() {
    await oneFirst;
    yield { bytes: from('y', 'two'), source: 'two', position: null, mailbox: 'sales' } as RawMessage;
    twoWrote();
    // Batch one is now writing y's second mail, while this batch holds its own open.
    await sleep(300);
    yield { bytes: from('x', 'two'), source: 'two', position: null, mailbox: 'sales' } as RawMessage;
  }
  const [a, b] = await Promise.all([passOver(d.intake, one()), passOver(d.intake, two())]);
  expect([a.failure?.message ?? null, b.failure?.message ?? null]).toEqual([null, null]);
  expect([...a.acked, ...b.acked].map((m) => m.result.outcome)).toEqual(['created', 'created', 'created', 'created']);
  expect((await d.admin.query("select email from contacts where email like '%@new.test' order by email")).rows.map((r) => r.email)).toEqual(['x@new.test', 'y@new.test']);
}, 30_000);

test('the Message-ID secret is read once per connection (it never changes); every other value is read each time', async () => {
  const d = await desk('pg_intake_values');
  const [one, two] = [await d.pool.connect(), await d.pool.connect()];
  try {
    const [onOne, onTwo] = [drizzle(one, { schema: pgSchema }), drizzle(two, { schema: pgSchema })];
    const secret = await pgGetValue(onOne, 'message_id_secret');
    expect(secret).toMatch(/^[0-9a-f]{32,}$/);
    await d.admin.query("insert into key_value (key, value) values ('round_robin:first', 'ann')");
    expect(await pgGetValue(onOne, 'round_robin:first')).toBe('ann');
    // Changed behind the daemon's back: the secret stays what this connection read, other values follow.
    await d.admin.query("update key_value set value = 'changed' where key in ('message_id_secret', 'round_robin:first')");
    expect(await pgGetValue(onOne, 'message_id_secret')).toBe(secret);
    expect(await pgGetValue(onOne, 'round_robin:first')).toBe('changed');
    expect(await pgGetValue(onTwo, 'message_id_secret')).toBe('changed');
  } finally {
    one.release();
    two.release();
  }
});

test('helpdesk ingest pipes mail into a desk on PostgreSQL; an unreachable one is a temporary failure; a command that knows only SQLite refuses it', async () => {
  const url = await pg().createDatabase('pg_intake_cli');
  const desk = (storeUrl: string) =>
    writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test }\nstore: { postgres: { url: "${storeUrl}" } }\n`, 'agents.yaml': AGENTS });
  const data = tempDir('hd-pg-cli-');
  const piped = await runCliAsync(['ingest', '--json', '-', '--config', desk(url), '--data', data], { input: buildMail({ messageId: '<piped@customer.test>', subject: 'Piped in' }) });
  expect({ code: piped.code, stderr: piped.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(piped.stdout)).toMatchObject({ outcome: 'created', ticket: 'HD-1' });
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    expect((await c.query('select subject from tickets')).rows).toEqual([{ subject: 'Piped in' }]);
  } finally {
    await c.end();
  }
  // Nobody listens on port 1: the MTA keeps the mail and tries again (75); the password is not printed.
  const down = await runCliAsync(['ingest', '-', '--config', desk('postgres://helpdesk:s3cret@127.0.0.1:1/helpdesk'), '--data', data], { input: buildMail({ subject: 'Later' }) });
  expect(down.code).toBe(75);
  expect(down.stderr).toContain('cannot open the store at postgres://helpdesk:***@127.0.0.1:1/helpdesk');
  expect(down.stderr).not.toContain('s3cret');
  // A command that knows only SQLite refuses the desk instead of working on an empty file.
  const reindex = await runCliAsync(['tickets', 'reindex', '--config', desk(url), '--data', data]);
  expect(reindex.code).toBe(78);
  expect(reindex.stderr).toContain('this desk is on PostgreSQL');
}, 60_000);

test('staff commands on a desk on PostgreSQL: tickets list, show, set (with the spam lesson) and search, raw, attachments, jobs run, rules test, outbox list and retry', async () => {
  const url = await pg().createDatabase('pg_staff_cli');
  const config = (storeUrl: string) =>
    writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test, ticketPrefix: HD }\nstore: { postgres: { url: "${storeUrl}" } }\n`, 'agents.yaml': AGENTS, 'rules.yaml': 'rules: []\n' });
  const dir = config(url);
  const data = tempDir('hd-pg-staff-');
  const cli = (...args: string[]) => runCliAsync([...args, '--config', dir, '--data', data]);
  const mail = buildMailWithFiles({ messageId: '<staff@customer.test>', from: 'Carla <carla@customer.test>', subject: 'Cheap watches', text: 'Buy now.', pdf: Buffer.from('%PDF-1.4 catalogue'), png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) });
  expect((await runCliAsync(['ingest', '-', '--config', dir, '--data', data], { input: mail })).code).toBe(0);

  const list = await cli('tickets', 'list', '--json');
  expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ ref: 'HD-1', subject: 'Cheap watches', status: 'new', customer: 'carla@customer.test', messageCount: 1 })]);
  expect(JSON.parse((await cli('tickets', 'list', 'customer:@customer.test status:new', '--json')).stdout)).toHaveLength(1);
  expect(JSON.parse((await cli('tickets', 'list', 'customer:@elsewhere.test', '--json')).stdout)).toEqual([]);
  const show = await cli('tickets', 'show', 'hd-1', '--json');
  expect(JSON.parse(show.stdout)).toMatchObject({ ref: 'HD-1', messages: [{ subject: 'Cheap watches', from: 'carla@customer.test' }], events: expect.arrayContaining([expect.objectContaining({ type: 'created' })]) });
  expect((await cli('tickets', 'show', 'HD-9')).code).toBe(1);
  // The raw mail and the files, back out of PostgreSQL's blobs byte for byte.
  const raw = await runCliAsync(['raw', 'HD-1', '1', '-o', path.join(data, 'raw.eml'), '--config', dir, '--data', data]);
  expect({ code: raw.code, stderr: raw.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readFileSync(path.join(data, 'raw.eml')).equals(mail)).toBe(true);
  const files = await cli('attachments', 'get', 'HD-1', '-o', path.join(data, 'files'));
  expect(files.stdout.trim().split('\n').map((f) => path.basename(f)).sort()).toEqual(['invoice.pdf', 'screenshot.png']);
  expect(readFileSync(path.join(data, 'files', 'invoice.pdf')).toString()).toBe('%PDF-1.4 catalogue');
  // Scheduled jobs run now on PostgreSQL; backup is PostgreSQL's own.
  expect(JSON.parse((await cli('jobs', 'run', 'slaCheck', '--json')).stdout)).toEqual({ warnings: 0, breaches: 0 });
  const backup = await cli('jobs', 'run', 'backup');
  expect(backup.code).toBe(78);
  expect(backup.stderr).toContain("backup does not run on a desk on PostgreSQL");

  // Marked spam from the command line: the history says so and the filter learns the raw mail kept in PostgreSQL.
  const spam = await cli('tickets', 'set', 'HD-1', 'status', 'spam', '--reason', 'watches again');
  expect({ code: spam.code, stderr: spam.stderr }).toEqual({ code: 0, stderr: '' });
  expect(spam.stdout).toContain('HD-1: spam filter learnt it as spam');
  expect(spam.stdout).toContain('HD-1: status new → spam');
  const assign = await cli('tickets', 'set', 'HD-1', 'assignee', 'ana@example.test');
  expect(assign.stdout).toContain('HD-1: assigned queued to ana@example.test');
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    expect((await c.query('select label from spam_learned')).rows).toEqual([{ label: 'spam' }]);
    expect((await c.query("select status, assignee from tickets where ref = 'HD-1'")).rows).toEqual([{ status: 'spam', assignee: 'ana@example.test' }]);
    expect((await c.query("select actor, reason from events where type = 'status_changed'")).rows).toEqual([{ actor: expect.stringMatching(/^cli:/), reason: 'watches again' }]);

    const rows = JSON.parse((await cli('outbox', 'list', '--json')).stdout) as Array<{ id: number; template: string; status: string; to: string[] }>;
    expect(rows.map((r) => [r.template, r.status, r.to])).toEqual(expect.arrayContaining([['assigned', 'pending', ['ana@example.test']]]));
    const assigned = rows.find((r) => r.template === 'assigned') as { id: number };
    const pending = await cli('outbox', 'retry', String(assigned.id));
    expect(pending.code).toBe(64);
    expect(pending.stderr).toContain('is pending; only failed or bounced rows can be retried');
    await c.query("update outbox set status = 'failed', last_error = '550 no', next_attempt_at = null where id = $1", [assigned.id]);
    const retried = await cli('outbox', 'retry', String(assigned.id));
    expect({ code: retried.code, stdout: retried.stdout }).toEqual({ code: 0, stdout: `outbox row ${assigned.id} (assigned to ana@example.test) queued again\n` });
    expect((await c.query('select status, last_error from outbox where id = $1', [assigned.id])).rows).toEqual([{ status: 'pending', last_error: null }]);
    expect((await cli('outbox', 'retry', '999')).code).toBe(1);
  } finally {
    await c.end();
  }
  // Search: PostgreSQL's full-text index, the same query language; spam stays out unless asked for.
  expect((await runCliAsync(['ingest', '-', '--config', dir, '--data', data], { input: buildMail({ messageId: '<toner@customer.test>', subject: 'Printer toner empty', body: 'The printer on floor two needs toner.' }) })).code).toBe(0);
  const search = async (q: string) => JSON.parse((await cli('tickets', 'search', q, '--json')).stdout) as Array<{ ref: string; score: number; snippet: string }>;
  const [hit] = await search('toner');
  expect(hit).toMatchObject({ ref: 'HD-2', subject: 'Printer toner empty', snippet: expect.stringContaining('**toner**') });
  expect(hit.score).toBeLessThan(0);
  expect((await search('print*')).map((t) => t.ref)).toEqual(['HD-2']);
  expect((await search('"floor two" toner')).map((t) => t.ref)).toEqual(['HD-2']);
  expect(await search('toner -floor')).toEqual([]);
  expect(await search('watches')).toEqual([]);
  expect((await search('watches status:spam')).map((t) => t.ref)).toEqual(['HD-1']);
  expect((await search('customer:@customer.test')).map((t) => t.ref)).toEqual(['HD-2', 'HD-1']);
  // The other filters in PostgreSQL's SQL: an agent by name, days on the desk's clock.
  expect((await search('assignee:ana')).map((t) => t.ref)).toEqual(['HD-1']);
  expect((await search('since:2000-01-01')).map((t) => t.ref)).toEqual(['HD-2', 'HD-1']);
  expect(await search('until:2000-01-01')).toEqual([]); // filters only: newest first, as on SQLite
  const typo = await cli('tickets', 'search', 'statu:open toner');
  expect(typo.code).toBe(64);
  expect(typo.stderr).toContain('did you mean status:?');
  // rules test reads the PostgreSQL desk: a reply to HD-2 threads into it there.
  const probe = path.join(data, 'probe.eml');
  writeFileSync(probe, buildMail({ messageId: '<probe@customer.test>', inReplyTo: '<toner@customer.test>', subject: 'Re: Printer toner empty', body: 'Still empty.' }));
  const rules = await cli('rules', 'test', probe, '--json');
  expect({ code: rules.code, stderr: rules.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(rules.stdout)).toMatchObject({ outcome: { outcome: 'appended', ticket: 'HD-2' }, thread: { threadedBy: 'in-reply-to' } });
  expect(JSON.parse((await cli('tickets', 'list', '--json')).stdout)).toHaveLength(2); // nothing written
  // Unreachable: a temporary failure, the password never printed.
  const down = await runCliAsync(['tickets', 'list', '--config', config('postgres://helpdesk:s3cret@127.0.0.1:1/helpdesk'), '--data', data]);
  expect(down.code).toBe(75);
  expect(down.stderr).toContain('postgres://helpdesk:***@127.0.0.1:1/helpdesk');
  expect(down.stderr).not.toContain('s3cret');
}, 60_000);

test('a batch waiting on a lock a frozen daemon holds gives up instead of stalling; once the server ends the frozen transaction, the mail goes through', async () => {
  const d = await desk('pg_intake_frozen', { timeouts: { lockMs: 500, idleInTransactionMs: 2000, queryMs: 120_000, connectMs: 10_000 } });
  const mail = (to: string) => Buffer.concat([Buffer.from(`Delivered-To: ${to}\r\n`), buildMail({ messageId: '<frozen@customer.test>', subject: 'Held up', body: 'Hello' })]);
  // A daemon frozen mid-batch: its transaction holds the dedup lock of this Message-ID, and it never commits.
  const frozen = await d.pool.connect();
  const frozenEnded = new Promise<void>((resolve) => frozen.on('error', () => resolve()));
  await frozen.query('BEGIN');
  await frozen.query("select pg_advisory_xact_lock(hashtextextended('message-id:<frozen@customer.test>', 0))");
  const started = Date.now();
  const held = await passOver(d.intake, [{ bytes: mail('sales@example.test'), source: 'sales', position: null, mailbox: 'sales' }]);
  expect(held.acked).toEqual([]);
  expect(held.failure?.name).toBe('StoreUnavailableError');
  expect(held.failure?.message).toMatch(/lock timeout/);
  expect(Date.now() - started).toBeLessThan(10_000);
  // The server ends the frozen transaction after idleInTransactionMs; offered again, the mail is stored.
  await frozenEnded;
  frozen.release(true);
  const again = await passOver(d.intake, [{ bytes: mail('sales@example.test'), source: 'sales', position: null, mailbox: 'sales' }]);
  expect(again.failure).toBeNull();
  expect(again.acked.map((a) => a.result.outcome)).toEqual(['created']);
}, 30_000);

test('the category predictor learns from the tickets in PostgreSQL: rules\' categories, then staff\'s', async () => {
  const HARDWARE = ['the printer is jammed again', 'printer toner empty', 'my laptop screen flickers', 'la impresora no imprime', 'monitor cable broken', 'keyboard keys stuck', 'printer paper tray broken', 'laptop battery dead'];
  const SOFTWARE = ['cannot log in to the vpn', 'outlook crashes on start', 'password reset needed', 'excel macro error', 'vpn disconnects every hour', 'sap login fails', 'outlook calendar not syncing', 'contraseña caducada'];
  const rules = 'rules:\n  - { name: hw, when: { subject: { any: [printer, laptop, impresora, monitor, keyboard] } }, then: { category: hardware } }\n  - { name: sw, when: { subject: { any: [vpn, outlook, password, excel, sap, contraseña] } }, then: { category: software } }\n';
  const helpdesk = 'helpdesk: { address: support@example.test, ticketPrefix: HD }\nprediction: { minExamples: 10, minConfidence: 0.6 }\n';
  let config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk, 'rules.yaml': rules }), {});
  // Checked before every message, so each one sees what the one before taught.
  const pgDesk = await pgIntakeDesk(await pg().createDatabase('pg_category'), () => config, { categoryCheckEveryMs: 0 });
  desks.push(pgDesk);
  let n = 0;
  const send = async (subject: string) => {
    const r = await ingestAlone(pgDesk.intake, { bytes: buildMail({ subject, messageId: `<c${n++}@x.test>`, from: `c${n}@x.test`, body: subject }), source: 't', position: null, mailbox: null });
    const row = await pgDesk.admin.query<{ category: string; category_source: string }>('select category, category_source from tickets where ref = $1', [r.ticket]);
    const created = await pgDesk.admin.query<{ reason: string }>("select e.reason from events e join tickets t on t.id = e.ticket_id where t.ref = $1 and e.type = 'created'", [r.ticket]);
    return { ref: r.ticket, ...row.rows[0], reason: created.rows[0]?.reason ?? '' };
  };
  for (const s of [...HARDWARE, ...SOFTWARE]) await send(s);
  // Rules gone: what remains is what the tickets in PostgreSQL taught.
  config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk, 'rules.yaml': 'rules: []\n' }), {});
  const t = await send('Printer jammed, toner everywhere');
  expect(t).toMatchObject({ category: 'hardware', category_source: 'predicted', reason: expect.stringMatching(/category: predicted from 16 past tickets \(confidence 0\.\d+\)/) });
  expect(await send('hello')).toMatchObject({ category: 'general' });

  // An agent moves the printer tickets to a new category by mail; the model follows.
  for (const ref of ['HD-1', 'HD-2', 'HD-4', 'HD-7']) {
    const r = await ingestAlone(pgDesk.intake, { bytes: buildMail({ from: 'Ana <ana@example.test>', messageId: `<a${ref}@example.test>`, subject: `Re: [${ref}]`, body: '#category printing' }), source: 't', position: null, mailbox: null });
    expect(r).toMatchObject({ outcome: 'appended', ticket: ref });
  }
  const moved = await pgDesk.admin.query<{ n: number }>("select count(*)::int as n from tickets where category = 'printing' and category_source = 'staff'");
  expect(moved.rows[0].n).toBe(4);
  config = loadConfig(writeConfigDir({ 'helpdesk.yaml': helpdesk.replace('minConfidence: 0.6', 'minConfidence: 0.45'), 'rules.yaml': 'rules: []\n' }), {});
  expect(await send('printer out of toner')).toMatchObject({ category: 'printing', reason: expect.stringMatching(/predicted from 16 past tickets/) });
}, 60_000);

test('spam train, classify and eval on a desk on PostgreSQL give what they give on SQLite', async () => {
  const url = await pg().createDatabase('pg_spam_cli');
  const spamDir = path.join(FIXTURES, 'spamassassin', 'train', 'spam');
  const hamDir = path.join(FIXTURES, 'spamassassin', 'train', 'ham');
  const testDir = path.join(FIXTURES, 'spamassassin', 'test');
  const helpdesk = 'helpdesk: { address: support@example.test }\nspam: { minTrained: 10 }\n';
  const stores = {
    sqlite: { config: writeConfigDir({ 'helpdesk.yaml': helpdesk }), data: tempDir('hd-spam-sqlite-') },
    postgres: { config: writeConfigDir({ 'helpdesk.yaml': `${helpdesk}store: { postgres: { url: "${url}" } }\n` }), data: tempDir('hd-spam-pg-') },
  };
  const run = async (where: { config: string; data: string }, ...args: string[]) => {
    const r = await runCliAsync([...args, '--config', where.config, '--data', where.data]);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    return r.stdout;
  };
  const results = [];
  for (const where of [stores.sqlite, stores.postgres]) {
    const trained = JSON.parse(await run(where, 'spam', 'train', '--spam', spamDir, '--ham', hamDir, '--json'));
    const again = JSON.parse(await run(where, 'spam', 'train', '--spam', path.join(spamDir, readdirSync(spamDir)[0]), '--json'));
    const classified = (await run(where, 'spam', 'classify', path.join(testDir, 'spam'), path.join(testDir, 'ham'), '--json')).trim().split('\n').map((l) => JSON.parse(l));
    const evaluated = JSON.parse(await run(where, 'spam', 'eval', '--spam', path.join(testDir, 'spam'), '--ham', path.join(testDir, 'ham'), '--json'));
    results.push({ trained, again, classified, evaluated });
  }
  const [onSqlite, onPostgres] = results;
  expect(onSqlite.trained).toMatchObject({ learnt: 160, totals: { spam: 80, ham: 80 } });
  expect(onSqlite.again).toMatchObject({ already: 1 });
  expect(onSqlite.classified.length).toBeGreaterThan(10);
  expect(onPostgres).toEqual(onSqlite);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    expect((await c.query('select label, count(*)::int as n from spam_learned group by label order by label')).rows).toEqual([
      { label: 'ham', n: 80 },
      { label: 'spam', n: 80 },
    ]);
  } finally {
    await c.end();
  }
}, 120_000);

test('an agent\'s #spam and its lesson are stored together: a full disk while learning undoes the reply; a failure of the lesson alone leaves the reply stored', async () => {
  const d = await desk('pg_intake_lesson');
  const raw = (position: string, bytes: Buffer): RawMessage => ({ bytes, source: 'test', position, mailbox: 'support' });
  expect(await ingestAlone(d.intake, raw('1', buildMail({ messageId: '<l1@customer.test>', subject: 'Printer broken' })))).toMatchObject({ outcome: 'created', ticket: 'HD-1' });
  const status = async () => (await d.admin.query<{ status: string }>("select status from tickets where ref = 'HD-1'")).rows[0].status;
  const failWith = (errcode: string) =>
    d.admin.query(`create or replace function lesson_fault() returns trigger language plpgsql as $$ begin raise exception 'injected' using errcode = '${errcode}'; end $$;
      create or replace trigger lesson_fault before insert on spam_tokens for each row execute function lesson_fault()`);
  const reply = raw('2', buildMail({ messageId: '<l2@example.test>', from: 'Ana <ana@example.test>', subject: 'Re: [HD-1] Printer broken', body: '#spam' }));
  // The disk fills up as the filter learns (SQLSTATE 53100): neither the reply nor its lesson stands.
  await failWith('disk_full');
  const full = await passOver(d.intake, [reply]);
  expect({ failure: full.failure?.name, acked: full.acked.length }).toEqual({ failure: 'StoreUnavailableError', acked: 0 });
  expect({ status: await status(), inbound: await count(d, 'inbound'), learnt: await count(d, 'spam_learned') }).toEqual({ status: 'new', inbound: 1, learnt: 0 });
  // A failure of the lesson's own (any other error): the reply and its command stand, the lesson says why.
  await failWith('P0001');
  expect(await ingestAlone(d.intake, reply)).toMatchObject({ outcome: 'appended', ticket: 'HD-1', lesson: { failed: expect.stringMatching(/injected/) } });
  expect({ status: await status(), learnt: await count(d, 'spam_learned') }).toEqual({ status: 'spam', learnt: 0 });
  const last = (await d.admin.query<{ type: string; reason: string }>('select type, reason from events order by id desc limit 1')).rows[0];
  expect(last).toEqual({ type: 'spam_lesson_failed', reason: expect.stringMatching(/^#spam: not learnt \(.*injected/) });
}, 60_000);
