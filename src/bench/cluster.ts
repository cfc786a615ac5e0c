/**
 * bench:cluster (issue #25): 1, 2 and 3 daemons on one PostgreSQL draining a backlog in 30
 * Maildir mailboxes, beside one daemon on SQLite draining the same backlog, then the takeover
 * time after a daemon is killed. Every daemon is the built `helpdesk start`, its own process
 * and data folder, on loopback. The mail is the corpus' real messages, each given its own
 * Message-ID and sender so every one is a new ticket.
 *
 *   npm run bench:cluster -- [--per-mailbox 1000] [--statements] [corpus dir]
 *
 * Default 100 messages per mailbox (3,000 in all); the issue's 30,000 is `--per-mailbox 1000`.
 * `--statements` also prints, after the one-daemon run, the statements PostgreSQL ran per message
 * (pg_stat_statements): where the round trips of a message go.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { startPostgres } from '../../test/harness/postgres';
import { listLeases } from '../cluster/leases';
import { packageRoot } from '../lib/package-root';
import { loadCorpus, out } from './common';

const CLI = path.join(packageRoot(), 'dist', 'cli', 'index.js');
const MAILBOXES = Array.from({ length: 30 }, (_, i) => `m${String(i + 1).padStart(2, '0')}`);
const TTL_MS = 6000;

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--per-mailbox');
  const perMailbox = at >= 0 ? Number(args.splice(at, 2)[1]) : 100;
  const statements = args.includes('--statements');
  if (statements) args.splice(args.indexOf('--statements'), 1);
  const corpusDir = args[0] ?? path.join(packageRoot(), '..', 'shared', 'corpus');
  const corpus = loadCorpus(corpusDir);
  const total = perMailbox * MAILBOXES.length;
  out(`bench:cluster: ${MAILBOXES.length} Maildir mailboxes × ${perMailbox} messages = ${total} (from ${corpus.length} corpus files), leaseTtl ${TTL_MS / 1000}s, ${os.cpus().length} cores`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-cluster-'));
  const pg = await startPostgres(statements ? { settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } } : {});
  try {
    const sqliteRate = (await drain('sqlite', 1, null)).rate;
    out(`one daemon on SQLite:      ${sqliteRate.toFixed(0)} msg/s  (baseline)`);
    for (const n of [1, 2, 3]) {
      const url = await pg.createDatabase(`bench${n}`);
      const { rate: r, deadlocks } = await drain(`pg${n}`, n, url);
      out(`${n} daemon${n > 1 ? 's' : ' '} on PostgreSQL:  ${r.toFixed(0)} msg/s  (${Math.round((100 * r) / sqliteRate)}% of SQLite's; ${deadlocks} batches retried after a deadlock)`);
      if (statements && n === 1) await printStatements(url, total);
    }
    const takeover = await killOne(await pg.createDatabase('bench_kill'));
    out(`takeover after a SIGKILL:  ${takeover} ms  (leaseTtl ${TTL_MS} ms; bound 5/6 of it: ${Math.round((TTL_MS * 5) / 6)} ms)`);
  } finally {
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }

  /** A config, maildirs and data folders for one run; the backlog is written but not delivered yet. */
  function setup(name: string, url: string | null) {
    const root = path.join(work, name);
    const dirs = MAILBOXES.map((m) => path.join(root, 'maildirs', m));
    for (const d of dirs) for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(d, sub), { recursive: true });
    const config = path.join(root, 'config');
    mkdirSync(config);
    writeFileSync(
      path.join(config, 'helpdesk.yaml'),
      `helpdesk: { name: Support, address: support@example.test }
${url ? `store: { postgres: { url: "${url}" } }\ncluster: { leaseTtl: ${TTL_MS / 1000}s }\n` : ''}mailboxes:
${MAILBOXES.map((m, i) => `  - { id: ${m}, maildir: "${dirs[i]}", pollInterval: 1s }`).join('\n')}
jobs: { backup: { enabled: false } }
`,
    );
    writeFileSync(path.join(config, 'agents.yaml'), 'agents:\n  - { name: Ana, email: ana@example.test }\n');
    let n = 0;
    for (const d of dirs) {
      for (let j = 0; j < perMailbox; j++) {
        const bytes = corpus[n % corpus.length];
        // Its own Message-ID and sender: a new ticket, never a duplicate of another copy.
        const head = `Message-ID: <bench-${n}@bench.test>\r\nFrom: customer${n}@bench.test\r\n`;
        writeFileSync(path.join(d, 'tmp', `${n}.bench`), Buffer.concat([Buffer.from(head), withoutHeaders(bytes, ['message-id', 'from'])]));
        n++;
      }
    }
    const stats = { deadlocks: 0 };
    const deliver = () => {
      for (const d of dirs) for (const f of readdirSync(path.join(d, 'tmp'))) renameSync(path.join(d, 'tmp', f), path.join(d, 'new', f));
    };
    const start = (k: number): Daemon => {
      const child = spawn(process.execPath, [CLI, 'start', '--config', config, '--data', path.join(root, `data${k}`)], { env: { ...process.env, HELPDESK_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'pipe'] });
      // A batch that PostgreSQL ended as a deadlock victim is retried (nothing is lost): counted, not printed.
      createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.includes('deadlock detected')) stats.deadlocks++;
        else process.stderr.write(`${line}\n`);
      });
      return { child, exited: new Promise((resolve) => child.on('exit', () => resolve())) };
    };
    return { root, dirs, deliver, start, stats };
  }

  /** msg/s of `n` daemons draining the backlog, from its delivery to the last message stored; batches retried after a deadlock. */
  async function drain(name: string, n: number, url: string | null): Promise<{ rate: number; deadlocks: number }> {
    const run = setup(name, url);
    const daemons = Array.from({ length: n }, (_, k) => run.start(k));
    try {
      const processed = url ? pgCount(url) : sqliteCount(path.join(run.root, 'data0', 'helpdesk.sqlite'));
      if (url) await until(async () => (await leaseHolders(url)).size === n, 60_000);
      else await until(async () => (await processed()) >= 0, 60_000);
      const started = Date.now();
      run.deliver();
      await until(async () => (await processed()) >= total, 3_600_000);
      return { rate: (total * 1000) / (Date.now() - started), deadlocks: run.stats.deadlocks };
    } finally {
      await Promise.all(daemons.map((d) => (d.child.kill('SIGTERM'), d.exited)));
    }
  }

  /** Three daemons draining; one is killed halfway: ms until another holds each of its mailboxes. */
  async function killOne(url: string): Promise<number> {
    const run = setup('kill', url);
    const daemons = [0, 1, 2].map((k) => run.start(k));
    try {
      await until(async () => (await leaseHolders(url)).size === 3, 60_000);
      run.deliver();
      const processed = pgCount(url);
      await until(async () => (await processed()) >= total / 2, 3_600_000);
      const victim = daemons[0];
      const theirs = [...(await leaseHolders(url))].filter(([, mailboxes]) => mailboxes.length > 0).find(([holder]) => holder.split(':')[1] === String(victim.child.pid))?.[1] ?? [];
      victim.child.kill('SIGKILL');
      const killed = Date.now();
      await victim.exited;
      await until(async () => {
        const held = await leaseHolders(url);
        return theirs.every((m) => [...held].some(([holder, ms]) => ms.includes(m) && holder.split(':')[1] !== String(victim.child.pid)));
      }, 10 * TTL_MS);
      return Date.now() - killed;
    } finally {
      await Promise.all(daemons.map((d) => (d.child.kill('SIGTERM'), d.exited)));
    }
  }
}

/** The statements of the one-daemon run by calls per message, with their mean time (pg_stat_statements). */
async function printStatements(url: string, messages: number): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('create extension if not exists pg_stat_statements');
    const rows = await c.query<{ calls: string; mean: number; query: string }>(
      `select calls, mean_exec_time as mean, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) as query from pg_stat_statements
       where dbid = (select oid from pg_database where datname = current_database()) and query not like 'SELECT $2 FROM ONLY %'
       order by calls desc limit 25`,
    );
    // Foreign-key checks (SELECT … FROM ONLY … FOR KEY SHARE) are left out: PostgreSQL runs them, not the daemon.
    const perMessage = rows.rows.reduce((sum, r) => sum + Number(r.calls), 0) / messages;
    out(`  statements the daemon sent per message (the 25 most frequent): ${perMessage.toFixed(1)}; per message, mean time, statement:`);
    for (const r of rows.rows) out(`  ${(Number(r.calls) / messages).toFixed(2).padStart(6)}  ${r.mean.toFixed(3).padStart(7)} ms  ${r.query}`);
  } finally {
    await c.end();
  }
}

/** The mailboxes each live holder has a lease on. */
async function leaseHolders(url: string): Promise<Map<string, string[]>> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    if (!(await c.query("select to_regclass('mailbox_leases') as t")).rows[0].t) return new Map();
    const now = Number((await c.query<{ now: string }>('select (extract(epoch from clock_timestamp()) * 1000)::bigint as now')).rows[0].now);
    const held = new Map<string, string[]>();
    for (const l of await listLeases(c)) if (l.expiresAt > now) held.set(l.holder, [...(held.get(l.holder) ?? []), l.mailbox]);
    return held;
  } finally {
    await c.end();
  }
}

function pgCount(url: string): () => Promise<number> {
  return async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return Number((await c.query<{ n: string }>('select count(*) as n from inbound')).rows[0].n);
    } finally {
      await c.end();
    }
  };
}

function sqliteCount(file: string): () => Promise<number> {
  return async () => {
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('select count(*) as n from inbound').get() as { n: number }).n;
      } finally {
        db.close();
      }
    } catch {
      return -1;
    }
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('bench:cluster timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The message without the named header fields (their folded lines too). */
function withoutHeaders(bytes: Buffer, names: string[]): Buffer {
  const text = bytes.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const kept = head.split(/\r?\n(?![ \t])/).filter((field) => !names.includes(field.slice(0, field.indexOf(':')).trim().toLowerCase()));
  return Buffer.from(`${kept.join('\r\n')}${end < 0 ? '\r\n\r\n' : text.slice(end)}`, 'latin1');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
