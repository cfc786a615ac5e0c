import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { Client, Pool } from 'pg';
import { claimJobTick, tickOf } from '../../src/cluster/job-ticks';
import { leaseKeeper } from '../../src/cluster/lease-keeper';
import { acquireLease, holdsLease, listLeases, releaseLease, renewLease } from '../../src/cluster/leases';
import { thisMember } from '../../src/cluster/members';
import { sendOneClaimed } from '../../src/mail-out/pg-outbox-worker';
import { sleep } from '../../src/lib/backoff';
import { silentLogger } from '../../src/lib/log';
import { applyPgMigrations } from '../../src/store/pg/migrate';
import { usePostgres } from '../harness/use-postgres';
import { startSmtpSink } from '../harness/smtp-sink';
import { waitFor } from '../helpers/cli';
import { seededRandom, testSeed } from '../helpers/random';

/**
 * Issue #25, the cluster's coordination on a real PostgreSQL: mailbox leases and their fence,
 * once-per-tick jobs, the shared outbox, and daemons killed with SIGKILL (child processes
 * running the built code: test/helpers/cluster-child.js).
 */
const pools: Pool[] = [];
// Declared before the server's own afterAll, so the pools close before PostgreSQL stops.
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});
const pg = usePostgres();
const CHILD = path.resolve(__dirname, '../helpers/cluster-child.js');

/** A new, migrated database and a pool on it. */
async function freshDb(name: string): Promise<{ url: string; pool: Pool }> {
  const url = await pg().createDatabase(name);
  const c = new Client({ connectionString: url });
  await c.connect();
  await applyPgMigrations(c);
  await c.end();
  const pool = new Pool({ connectionString: url, max: 20 });
  // An idle client that the server drops (its fast shutdown after the last test, should a pool
  // still hold one then) is an 'error' on the pool: unheard, it failed the whole suite (once in
  // four CI runs). The daemon's own pool (store/pg/pool.ts) listens for it too, and logs it.
  pool.on('error', () => undefined);
  pools.push(pool);
  return { url, pool };
}

function child(args: string[]): { proc: ChildProcess; out: () => string; exited: Promise<void> } {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, out: () => out, exited };
}

test('a lease is one daemon\'s until it expires; the next holder has a higher generation, and the late one can neither renew nor pass the fence', async () => {
  const { pool } = await freshDb('leases');
  const a = await acquireLease(pool, 'support', 'daemon-a', 300);
  expect(a).toMatchObject({ mailbox: 'support', holder: 'daemon-a', generation: 1 });
  expect(await acquireLease(pool, 'support', 'daemon-b', 300)).toBeNull();
  const renewed = await renewLease(pool, a!, 300);
  expect(renewed?.generation).toBe(1);
  await sleep(350);
  // Expired: never revived by a renewal, taken by another daemon with the next generation.
  expect(await renewLease(pool, a!, 300)).toBeNull();
  const b = await acquireLease(pool, 'support', 'daemon-b', 5000);
  expect(b).toMatchObject({ holder: 'daemon-b', generation: 2 });
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    expect(await holdsLease(tx, a!)).toBe(false);
    expect(await holdsLease(tx, b!)).toBe(true);
    await tx.query('COMMIT');
  } finally {
    tx.release();
  }
  // Released: another daemon takes it at once.
  await releaseLease(pool, b!);
  expect(await acquireLease(pool, 'support', 'daemon-c', 5000)).toMatchObject({ holder: 'daemon-c', generation: 3 });
  expect((await listLeases(pool)).map((l) => [l.mailbox, l.holder])).toEqual([['support', 'daemon-c']]);
});

test('the fence holds a takeover back until the transaction that checked it has committed', async () => {
  const { pool } = await freshDb('fence');
  const a = await acquireLease(pool, 'support', 'daemon-a', 400);
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    expect(await holdsLease(tx, a!)).toBe(true);
    await sleep(450); // the lease runs out while daemon A's batch is still committing
    let takenAt = 0;
    const takeover = acquireLease(pool, 'support', 'daemon-b', 5000).then((l) => {
      takenAt = Date.now();
      return l;
    });
    await sleep(300);
    expect(takenAt).toBe(0); // waits on A's lock
    const committedAt = Date.now();
    await tx.query('COMMIT');
    const b = await takeover;
    expect(b).toMatchObject({ holder: 'daemon-b', generation: 2 });
    expect(takenAt).toBeGreaterThanOrEqual(committedAt);
  } finally {
    tx.release();
  }
});

test('a scheduled tick is run by exactly one of several daemons', async () => {
  const { pool } = await freshDb('ticks');
  const base = tickOf(Date.parse('2026-12-03T10:00:00Z'));
  // Timers firing a few seconds apart belong to the same tick.
  expect(tickOf(base + 4_000)).toBe(base);
  expect(tickOf(base - 3_000)).toBe(base);
  for (let minute = 0; minute < 20; minute++) {
    const tick = base + minute * 60_000;
    const claims = await Promise.all(['d1', 'd2', 'd3'].map((d) => claimJobTick(pool, 'sla-check', tick, d)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  }
  // Another job's tick is its own.
  expect(await claimJobTick(pool, 'digest', base, 'd2')).toBe(true);
  const rows = await pool.query('select count(*)::int as n from job_runs');
  expect(rows.rows[0].n).toBe(21);
  // A claim eight days later forgets that job's claims older than a week, and only that job's.
  expect(await claimJobTick(pool, 'sla-check', base + 8 * 86_400_000, 'd1')).toBe(true);
  const left = await pool.query<{ job: string; n: number }>('select job, count(*)::int as n from job_runs group by job order by job');
  expect(left.rows).toEqual([
    { job: 'digest', n: 1 },
    { job: 'sla-check', n: 1 },
  ]);
});

test('a daemon hands over a mailbox no longer configured, and on shutdown stops its mailboxes, releases their leases and leaves', async () => {
  const { pool } = await freshDb('keeper');
  const said: string[] = [];
  let mailboxes = ['box-a', 'box-b'];
  const member = thisMember();
  const keeper = leaseKeeper({ db: pool, member, mailboxes: () => mailboxes, ttlMs: 30_000, start: (m) => void said.push(`start ${m}`), stop: (m, why) => void said.push(`stop ${m} ${why}`), log: silentLogger() });
  const live = async () => (await listLeases(pool)).filter((l) => l.expiresAt > l.now).map((l) => `${l.mailbox} ${l.holder === member.holder ? 'ours' : l.holder}`);
  await keeper.tick();
  expect(said.sort()).toEqual(['start box-a', 'start box-b']);
  expect(await live()).toEqual(['box-a ours', 'box-b ours']);
  mailboxes = ['box-a'];
  await keeper.tick();
  expect(said.at(-1)).toBe('stop box-b handover');
  // Released once its source has stopped, beside the rounds.
  await waitFor(async () => (await live()).join() === 'box-a ours', 5000, 'box-b released');
  // A member gone for two days is forgotten when another leaves.
  await pool.query("insert into cluster_members (holder, host, pid, started_at, seen_at) values ('gone:1:x', 'gone', 1, 0, (extract(epoch from now()) * 1000)::bigint - 2 * 86400000)");
  await keeper.stop();
  expect(said.at(-1)).toBe('stop box-a shutdown');
  expect(await live()).toEqual([]);
  expect((await pool.query('select count(*)::int as n from cluster_members')).rows[0].n).toBe(0);
});

test('a source slow to stop holds up no renewal: the other leases stay, and its own until it has stopped', async () => {
  const { pool } = await freshDb('slow_stop');
  let mailboxes = ['box-a', 'box-b'];
  let stopped!: () => void;
  const slow = new Promise<void>((resolve) => (stopped = resolve));
  const member = thisMember();
  // leaseTtl 1.5 s: a lease runs 1 s unless renewed.
  const keeper = leaseKeeper({ db: pool, member, mailboxes: () => mailboxes, ttlMs: 1500, start: () => undefined, stop: (m) => (m === 'box-b' ? slow : undefined), log: silentLogger() });
  const ours = async () => (await listLeases(pool)).filter((l) => l.expiresAt > l.now && l.holder === member.holder).map((l) => l.mailbox);
  keeper.start();
  try {
    await waitFor(async () => (await ours()).length === 2, 5000, 'both leases');
    // box-b is handed over; its source needs three lease lengths to finish its batch.
    mailboxes = ['box-a'];
    await sleep(3000);
    expect(await ours()).toEqual(['box-a', 'box-b']);
    stopped();
    await waitFor(async () => (await ours()).join() === 'box-a', 5000, 'box-b released once stopped');
  } finally {
    stopped();
    await keeper.stop();
  }
});

test('on shutdown, a source slow to finish its batch keeps its lease until it has stopped', async () => {
  const { pool } = await freshDb('slow_shutdown');
  const member = thisMember();
  const keeper = leaseKeeper({ db: pool, member, mailboxes: () => ['box-a'], ttlMs: 1500, start: () => undefined, stop: () => sleep(3000), log: silentLogger() });
  const ours = async () => (await listLeases(pool)).filter((l) => l.expiresAt > l.now && l.holder === member.holder).map((l) => l.mailbox);
  await keeper.tick();
  const stopping = keeper.stop();
  await sleep(2000);
  // Twice the lease's length into the stop: still held, so the batch in hand can commit.
  expect(await ours()).toEqual(['box-a']);
  await stopping;
  expect(await ours()).toEqual([]);
});

async function enqueue(pool: Pool, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await pool.query(
      `insert into outbox (template, recipients, message_id, data, status, attempts, next_attempt_at, created_at, subject)
       values ('ack', $1, $2, '{}', 'pending', 0, 0, $3, $4)`,
      [JSON.stringify([`c${i}@example.test`]), `<${prefix}-${i}@desk.example.test>`, Date.now(), `[HD-${i}] hello`],
    );
  }
}

test('three senders share one outbox: every row is sent exactly once', async () => {
  const seed = testSeed();
  process.stdout.write(`cluster outbox: seed ${seed}; HD_SEED=${seed} replays it\n`);
  const random = seededRandom(seed);
  const { pool } = await freshDb('outbox_share');
  const sink = await startSmtpSink();
  try {
    await enqueue(pool, 60, 'share');
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    const bySender = [0, 0, 0];
    await Promise.all(
      [0, 1, 2].map(async (sender) => {
        while (
          await sendOneClaimed(pool, Date.now(), async (row) => {
            await sleep(Math.floor(random() * 15));
            await transport.sendMail({ from: 'support@example.test', to: row.recipients, subject: row.subject, text: 'hello', messageId: row.messageId });
            bySender[sender]++;
            return { sent: true, at: Date.now(), subject: row.subject, suggested: null };
          })
        );
      }),
    );
    transport.close();
    const ids = sink.messages.map((m) => m.parsed.messageId);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect(bySender.every((n) => n > 0)).toBe(true); // they really shared the work
    const left = await pool.query("select count(*)::int as n from outbox where status <> 'sent' or attempts <> 1");
    expect(left.rows[0].n).toBe(0);
  } finally {
    await sink.close();
  }
});

test('a sender records a temporary failure for later, a permanent one for good, and a send that throws leaves the row as it was', async () => {
  const { pool } = await freshDb('outbox_outcomes');
  await enqueue(pool, 3, 'outcome');
  const row = async (id: number) => (await pool.query('select status, attempts, last_error, next_attempt_at from outbox where id = $1', [id])).rows[0] as Record<string, unknown>;
  const ids: number[] = [];
  expect(await sendOneClaimed(pool, 1000, async (r) => (ids.push(r.id), { sent: false, error: '451 try later', retryAt: 5000 }))).toBe(true);
  expect(await row(ids[0])).toEqual({ status: 'pending', attempts: 1, last_error: '451 try later', next_attempt_at: '5000' });
  expect(await sendOneClaimed(pool, 1000, async (r) => (ids.push(r.id), { sent: false, error: '550 no such user', retryAt: null }))).toBe(true);
  expect(await row(ids[1])).toEqual({ status: 'failed', attempts: 1, last_error: '550 no such user', next_attempt_at: null });
  await expect(sendOneClaimed(pool, 1000, async (r) => (ids.push(r.id), Promise.reject(new Error('template exploded'))))).rejects.toThrow('template exploded');
  expect(await row(ids[2])).toEqual({ status: 'pending', attempts: 0, last_error: null, next_attempt_at: '0' });
  // The retried row is not due before its time; the one that threw is due again.
  const next: number[] = [];
  expect(await sendOneClaimed(pool, 1000, async (r) => (next.push(r.id), { sent: true, at: 1000, subject: r.subject, suggested: null }))).toBe(true);
  expect(next).toEqual([ids[2]]);
  expect(await sendOneClaimed(pool, 1000, async () => ({ sent: true, at: 1000, subject: '', suggested: null }))).toBe(false);
});

test('a sender killed after the server took a mail but before recording it: another sends it again, with the same Message-ID', async () => {
  const { url, pool } = await freshDb('outbox_kill');
  const sink = await startSmtpSink();
  try {
    await enqueue(pool, 1, 'kill');
    const victim = child(['send', url, String(sink.port)]);
    await waitFor(async () => /SENT \d+/.test(victim.out()), 15_000, 'the victim sent');
    // While it holds the row, nobody else can claim it.
    expect(await sendOneClaimed(pool, Date.now(), () => Promise.reject(new Error('must not be claimed')))).toBe(false);
    victim.proc.kill('SIGKILL');
    await victim.exited;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    const claimed = await waitFor(
      () =>
        sendOneClaimed(pool, Date.now(), async (row) => {
          await transport.sendMail({ from: 'support@example.test', to: row.recipients, subject: row.subject, text: 'hello', messageId: row.messageId });
          return { sent: true, at: Date.now(), subject: row.subject, suggested: null };
        }),
      15_000,
      'the row to be free again',
    );
    transport.close();
    expect(claimed).toBe(true);
    expect(sink.messages.map((m) => m.parsed.messageId)).toEqual(['<kill-0@desk.example.test>', '<kill-0@desk.example.test>']);
    const row = await pool.query('select status, attempts from outbox');
    expect(row.rows).toEqual([{ status: 'sent', attempts: 1 }]);
  } finally {
    await sink.close();
  }
});

test('three daemons share nine mailboxes; one joining takes its share, one SIGKILLed loses its mailboxes to the others within the lease TTL', async () => {
  const seed = testSeed();
  process.stdout.write(`cluster takeover: seed ${seed}; HD_SEED=${seed} replays it\n`);
  const random = seededRandom(seed);
  const { url, pool } = await freshDb('takeover');
  const ttl = 4000;
  const mailboxes = Array.from({ length: 9 }, (_, i) => `box${i}`);
  const holders = async () => {
    const rows = await pool.query<{ mailbox: string; holder: string }>("select mailbox, holder from mailbox_leases where expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint");
    const by = new Map<string, string[]>();
    for (const r of rows.rows) by.set(r.holder, [...(by.get(r.holder) ?? []), r.mailbox]);
    return { held: rows.rows.length, by };
  };
  const daemons: ReturnType<typeof child>[] = [];
  const memberOf = async (d: ReturnType<typeof child>) => waitFor(async () => /MEMBER (\S+)/.exec(d.out())?.[1], 15_000, 'the daemon said who it is');
  try {
    daemons.push(child(['keep', url, String(ttl), ...mailboxes]));
    const first = await memberOf(daemons[0]);
    await waitFor(async () => (await holders()).by.get(first)?.length === 9, 15_000, 'the first daemon holds all nine');
    daemons.push(child(['keep', url, String(ttl), ...mailboxes]), child(['keep', url, String(ttl), ...mailboxes]));
    const names = [first, await memberOf(daemons[1]), await memberOf(daemons[2])];
    await waitFor(async () => {
      const h = await holders();
      return h.held === 9 && names.every((n) => h.by.get(n)?.length === 3);
    }, 15_000, 'three mailboxes each');
    expect(daemons[0].out()).toMatch(/STOP box\d handover/);

    const victimIndex = Math.floor(random() * 3);
    await sleep(Math.floor(random() * (ttl / 6))); // anywhere in a renewal period
    const victim = names[victimIndex];
    const orphaned = (await holders()).by.get(victim) ?? [];
    const generations = async () => {
      const rows = await pool.query<{ mailbox: string; generation: string }>('select mailbox, generation from mailbox_leases where mailbox = any($1) order by mailbox', [orphaned]);
      return rows.rows.map((r) => Number(r.generation));
    };
    const before = await generations();
    const killedAt = Date.now();
    daemons[victimIndex].proc.kill('SIGKILL');
    await daemons[victimIndex].exited;
    const survivors = names.filter((n) => n !== victim);
    await waitFor(
      async () => {
        const h = await holders();
        return h.held === 9 && survivors.every((n) => (h.by.get(n)?.length ?? 0) >= 4);
      },
      ttl * 3,
      'the survivors to hold all nine',
    );
    const takeover = Date.now() - killedAt;
    process.stdout.write(`cluster takeover: ${orphaned.length} mailboxes taken over ${takeover} ms after SIGKILL (leaseTtl ${ttl} ms)\n`);
    expect(takeover).toBeLessThanOrEqual(ttl);
    // Each orphaned mailbox changed holder once: the victim's generation plus one.
    expect(await generations()).toEqual(before.map((g) => g + 1));
  } finally {
    for (const d of daemons) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
  }
}, 60_000);
