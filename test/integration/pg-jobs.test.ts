import { sql } from 'drizzle-orm';
import { Pool } from 'pg';
import { startClusterScheduler } from '../../src/jobs/cluster-scheduler';
import { silentLogger } from '../../src/lib/log';
import { getValue } from '../../src/store/key-value';
import { inPgTransaction } from '../../src/store/pg/transaction';
import { usePostgres } from '../harness/use-postgres';
import { buildMail } from '../helpers/mail';
import { digest } from '../../src/jobs/digest';
import { slaCheck } from '../../src/jobs/sla-check';
import { ingestAlone, passOver, pgIntakeDesk, rowsOfBoth } from '../helpers/pg-intake';
import { smtpDesks } from '../helpers/smtp-desk';

/**
 * Issue #25: a scheduled job runs once across the cluster per tick. Two daemons' schedulers
 * share one PostgreSQL; both fire for the same tick; one claims and runs it. The jobs are the
 * plans SQLite runs (store/writes.ts): run on the same desk in both stores, they leave the same rows.
 */
const closing: Array<() => Promise<void>> = [];
// Declared before the server's own afterAll, so the pools close before PostgreSQL stops.
afterAll(async () => {
  for (const close of closing) await close();
});
const pg = usePostgres();
const fx = smtpDesks();

test('two daemons fire the same auto-close tick: one runs it, each resolved ticket is closed once', async () => {
  const d = fx.open();
  const desk = await pgIntakeDesk(await pg().createDatabase('pg_jobs'), () => d.config, { secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  closing.push(() => desk.close());
  const raws = [1, 2, 3, 4].map((i) => ({ bytes: buildMail({ messageId: `<job${i}@customer.test>`, from: `c${i}@customer.test`, subject: `Question ${i}` }), source: 'test', position: String(i), mailbox: 'support' }));
  expect((await passOver(desk.intake, raws)).failure).toBeNull();
  const now = Date.now();
  // Three resolved long ago, one just now (after the cut-off: kept).
  await desk.admin.query("update tickets set status = 'resolved', resolved_at = $1 where ref in ('HD-1', 'HD-2', 'HD-3')", [now - 30 * 86_400_000]);
  await desk.admin.query("update tickets set status = 'resolved', resolved_at = $1 where ref = 'HD-4'", [now]);
  const schedulers = ['daemon-a', 'daemon-b'].map((holder) => startClusterScheduler({ pool: desk.pool, config: () => d.config, log: silentLogger(), holder }));
  try {
    const outcomes = await Promise.all(schedulers.map((s) => s.tick('autoClose', now)));
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(1);
    expect(outcomes.find((o) => o !== 'skipped')).toEqual({ closed: 3 });
    // The next tick finds nothing left to close.
    expect(await schedulers[1].tick('autoClose', now + 60 * 60_000)).toEqual({ closed: 0 });
  } finally {
    await Promise.all(schedulers.map((s) => s.stop()));
  }
  const rows = await desk.admin.query<{ ref: string; status: string }>('select ref, status from tickets order by id');
  expect(rows.rows).toEqual([
    { ref: 'HD-1', status: 'closed' },
    { ref: 'HD-2', status: 'closed' },
    { ref: 'HD-3', status: 'closed' },
    { ref: 'HD-4', status: 'resolved' },
  ]);
  const events = await desk.admin.query<{ n: number }>("select count(*)::int as n from events where type = 'status_changed' and to_value = 'closed'");
  expect(events.rows[0].n).toBe(3);
}, 60_000);

const HOUR = 3_600_000;
const AGENTS = `trust: { mode: from-header }
agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
  - { name: Bob, email: bob@example.test, groups: [software] }
  - { name: Cid, email: cid@example.test, groups: [software] }
groups:
  - { name: software, members: [] }
`;
const RULES = `rules:
  - { name: to Bob, when: {}, then: { queue: software, assign: { agent: bob@example.test } } }
escalation:
  - name: critical breach to the leads
    when: { breach: resolution, severity: critical }
    then: { priority: high, assign: { group: software }, notify: [queue, admins] }
  - name: late first answer
    when: { breach: first_response }
    then: { notify: [admins] }
`;

test('SLA warnings, breaches, escalations and the digest on PostgreSQL: each tick once, the same rows as on SQLite', async () => {
  const d = fx.open({ files: { agents: AGENTS, rules: RULES }, extra: 'sla: { critical: 4h, medium: 8h, firstResponse: { critical: 1h, medium: 2h } }\n' });
  const desk = await pgIntakeDesk(await pg().createDatabase('pg_sla'), () => d.config, { now: () => d.clock.now, secret: getValue(d.store.db, 'message_id_secret') ?? undefined });
  closing.push(() => desk.close());
  const both = async (bytes: Buffer) => {
    const onSqlite = await d.ingest(bytes);
    expect(await ingestAlone(desk.intake, { bytes, source: 'test', position: null, mailbox: 'support' })).toEqual(onSqlite);
  };
  const created = d.clock.now;
  await both(buildMail({ messageId: '<down@customer.test>', subject: 'Server down', body: 'Nothing answers since this morning.' }));
  await both(buildMail({ messageId: '<printer@customer.test>', from: 'eve@customer.test', subject: 'Printer jams', body: 'Every morning.' }));
  await both(buildMail({ messageId: '<invoice@customer.test>', from: 'fay@customer.test', subject: 'Invoice question', body: 'Which VAT rate?' }));
  d.clock.now += 20 * 60_000;
  // Bob answers the invoice: its first-response clock stops; its resolution clock runs on.
  await both(buildMail({ messageId: '<bob1@example.test>', from: 'Bob <bob@example.test>', subject: 'Re: [HD-3] Invoice question', body: 'The reduced one.' }));

  const schedulers = ['daemon-a', 'daemon-b'].map((holder) => startClusterScheduler({ pool: desk.pool, config: () => d.config, log: silentLogger(), holder, now: () => d.clock.now }));
  const seen: unknown[] = [];
  try {
    // The same job at the same moment on both stores; on PostgreSQL two daemons fire, one runs it.
    const tickBoth = async (job: 'slaCheck' | 'digest', at: number) => {
      d.clock.now = at;
      const onSqlite = job === 'slaCheck' ? slaCheck(d.store, d.config, at) : digest(d.store, d.config, at);
      const outcomes = await Promise.all(schedulers.map((s) => s.tick(job, at)));
      expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(1);
      expect({ job, at: (at - created) / HOUR, outcome: outcomes.find((o) => o !== 'skipped') }).toEqual({ job, at: (at - created) / HOUR, outcome: onSqlite });
      seen.push(onSqlite);
    };
    await tickBoth('slaCheck', created + 0.8 * HOUR); // warnings: first response of the critical ticket
    await tickBoth('slaCheck', created + 1.6 * HOUR); // its breach (escalated to the admins); the printer's warning
    await tickBoth('slaCheck', created + 1.6 * HOUR + 60_000); // nothing new
    await tickBoth('slaCheck', created + 3.5 * HOUR); // resolution warning of the critical ticket, printer's first-response breach
    await tickBoth('slaCheck', created + 4 * HOUR + 60_000); // its breach: escalated, moved to the group
    await tickBoth('slaCheck', created + 6.5 * HOUR); // warnings of the medium ones
    await tickBoth('digest', created + 7 * HOUR);
  } finally {
    await Promise.all(schedulers.map((s) => s.stop()));
  }
  // The scenario did what it says on SQLite (so the comparison below compares something).
  expect(seen).toEqual([
    { warnings: 1, breaches: 0 },
    { warnings: 1, breaches: 1 },
    { warnings: 0, breaches: 0 },
    { warnings: 1, breaches: 1 },
    { warnings: 0, breaches: 1 },
    { warnings: 2, breaches: 0 },
    { admins: 1, open: 3, overdue: 1, unassigned: 1, created: 3 },
  ]);
  for (const { table, sqlite, postgres } of await rowsOfBoth(d.store, desk.admin)) expect({ table, rows: postgres }).toEqual({ table, rows: sqlite });
  const escalated = await desk.admin.query<{ to_value: string }>("select to_value from events where type = 'escalated' order by id");
  expect(escalated.rows.map((r) => r.to_value)).toEqual(['late first answer breach first_response', 'late first answer breach first_response', 'critical breach to the leads breach resolution']);
}, 60_000);

test('inPgTransaction commits what resolves, rolls back what throws, and refuses a COMMIT that PostgreSQL answered with ROLLBACK', async () => {
  const url = await pg().createDatabase('pg_transaction');
  const pool = new Pool({ connectionString: url, max: 1 });
  closing.push(() => pool.end());
  await pool.query('create table t (n int primary key)');
  expect(await inPgTransaction(pool, async (db) => (await db.execute(sql`insert into t values (1) returning n`)).rows[0])).toEqual({ n: 1 });
  await expect(
    inPgTransaction(pool, async (db) => {
      await db.execute(sql`insert into t values (2)`);
      throw new Error('changed my mind');
    }),
  ).rejects.toThrow('changed my mind');
  // An error caught inside leaves the transaction aborted: its COMMIT is a ROLLBACK, and says so.
  await expect(
    inPgTransaction(pool, async (db) => {
      await db.execute(sql`insert into t values (3)`);
      await db.execute(sql`insert into t values (1)`).catch(() => undefined);
      return 'looks fine';
    }),
  ).rejects.toThrow('PostgreSQL rolled the transaction back (ROLLBACK)');
  expect((await pool.query('select n from t order by n')).rows).toEqual([{ n: 1 }]);
  // The one connection of the pool is usable afterwards (given back clean, or replaced).
  expect((await pool.query('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
}, 30_000);
