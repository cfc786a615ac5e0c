/**
 * `npm run bench:imap`: the daemon against a private Dovecot (test/harness/dovecot.ts).
 * 1. Backlog drain: N messages (default 5,000; the corpus, topped up with generated mail)
 *    already in the INBOX, the built `helpdesk start` drains them; messages/second and the
 *    daemon's peak RSS, beside `helpdesk ingest` of the same messages from files, and the ratio.
 * 2. Arrival latency: messages APPENDed one at a time while the daemon idles; from APPEND
 *    returning to the commit, and the daemon's own share (EXISTS received → commit).
 * 3. A second writer: `helpdesk ingest -` of one message (an MTA's pipe), run one after the
 *    other while the daemon drains a backlog, beside the same pipe into a store nobody else
 *    writes; wall time of each run, process start included.
 * Prints figures; asserts nothing.
 */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { dynUser, startDovecot, type Dovecot } from '../../test/harness/dovecot';
import { packageRoot } from '../lib/package-root';
import { loadCorpus, out, pct, percentile } from './common';

const CLI = path.join(packageRoot(), 'dist', 'cli', 'index.js');
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 5000);
const ARRIVALS = Number(process.env.BENCH_ARRIVALS ?? 200);

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-imap-'));
  const dv = await startDovecot();
  try {
    const messages = backlogMessages(path.resolve(process.argv[2] ?? '../shared/corpus'), BACKLOG);
    out(`backlog: ${messages.length} messages, ${(messages.reduce((n, m) => n + m.length, 0) / 1e6).toFixed(1)} MB`);

    const fileRate = ingestFromFiles(work, messages);
    out(`helpdesk ingest from files:  ${fileRate.toFixed(0)} msg/s`);

    const user = dynUser('bench');
    const seedStarted = Date.now();
    const client = await connect(dv, user);
    await client.mailboxOpen('INBOX');
    for (const m of messages) await client.append('INBOX', m);
    await client.logout();
    out(`seeded Dovecot in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);

    const drain = await drainBacklog(dv, user, work, messages.length);
    out(`IMAP backlog drain:          ${drain.rate.toFixed(0)} msg/s  (${pct(drain.rate / fileRate)} of file ingest; target >= 70%)`);
    out(`daemon peak RSS:             ${(drain.peakRssKb / 1024).toFixed(0)} MB  (target < 300 MB)`);

    const latency = await arrivalLatency(dv, work, ARRIVALS);
    out(`arrival, APPEND → commit:    p50 ${latency.e2e50} ms, p99 ${latency.e2e99} ms  (target p99 < 1000 ms; Dovecot holds IDLE notifications ~500 ms)`);
    out(`daemon share, EXISTS → commit: p50 ${latency.own50} ms, p99 ${latency.own99} ms  (target p99 < 50 ms)`);

    const pipes = await pipesBesideDrain(dv, work, messages);
    out(`piped ingest, store alone:   p50 ${pipes.alone50} ms, max ${pipes.aloneMax} ms`);
    out(`  ... both cores busy:       p50 ${pipes.cores50} ms, max ${pipes.coresMax} ms  (CPU only, no other writer)`);
    out(`piped ingest beside a drain: p50 ${pipes.busy50} ms, max ${pipes.busyMax} ms  (target max < 2000 ms; ${pipes.failed} of ${PIPES} failed)`);
  } finally {
    await dv.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const PIPES = Number(process.env.BENCH_PIPES ?? 10);

/** One `helpdesk ingest -` of one message: its wall time, and whether it stored it. */
function pipeOnce(configDir: string, data: string, i: number): Promise<{ ms: number; ok: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, '--config', configDir, '--data', data, 'ingest', '-'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, HELPDESK_LOG_LEVEL: 'error' } });
  child.stdin.end(`From: pipe${i}@pipe.test\r\nTo: support@example.test\r\nSubject: piped ${i}\r\nMessage-ID: <pipe-${i}-${started}@pipe.test>\r\n\r\nhello\r\n`);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ ms: Date.now() - started, ok: code === 0 })));
}

async function pipesBesideDrain(dv: Dovecot, work: string, backlog: Buffer[]) {
  const alone: number[] = [];
  const aloneConfig = config(work, 'pipe-alone', '');
  for (let i = 0; i < PIPES; i++) alone.push((await pipeOnce(aloneConfig, path.join(work, 'data-pipe-alone'), i)).ms);
  // The same with both cores kept busy by processes that never touch the store: what a
  // draining daemon costs the pipe in CPU alone, apart from waiting for the write lock.
  const spinners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const busyCores: number[] = [];
  try {
    for (let i = 0; i < PIPES; i++) busyCores.push((await pipeOnce(aloneConfig, path.join(work, 'data-pipe-alone'), PIPES + i)).ms);
  } finally {
    for (const s of spinners) s.kill('SIGKILL');
  }

  const user = dynUser('pipes');
  const client = await connect(dv, user);
  await client.mailboxOpen('INBOX');
  for (const m of backlog) await client.append('INBOX', m);
  await client.logout();
  const data = path.join(work, 'data-pipes');
  const busyConfig = config(work, 'pipes', imapYaml(dv, user));
  const child = spawn(process.execPath, [CLI, '--config', busyConfig, '--data', data, 'start'], { stdio: 'ignore', env: { ...process.env, HELPDESK_LOG_LEVEL: 'warn' } });
  const stored = () => {
    try {
      const db = new Database(path.join(data, 'helpdesk.sqlite'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare("select count(*) n from inbound where source like 'imap:%'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    } catch {
      return 0;
    }
  };
  while (stored() < 100) await new Promise((r) => setTimeout(r, 50));
  const busy: number[] = [];
  let failed = 0;
  for (let i = 0; i < PIPES; i++) {
    const r = await pipeOnce(busyConfig, data, i);
    busy.push(r.ms);
    if (!r.ok) failed++;
  }
  if (stored() >= backlog.length) out('(the backlog was drained before the last pipe: raise the backlog for a fair figure)');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { alone50: percentile(alone, 50), aloneMax: Math.max(...alone), cores50: percentile(busyCores, 50), coresMax: Math.max(...busyCores), busy50: percentile(busy, 50), busyMax: Math.max(...busy), failed };
}

function backlogMessages(dir: string, n: number): Buffer[] {
  const corpus = loadCorpus(dir).slice(0, n);
  for (let i = corpus.length; i < n; i++) {
    corpus.push(Buffer.from(`From: Customer ${i} <c${i}@bench.test>\r\nTo: support@example.test\r\nSubject: Generated request ${i}\r\nMessage-ID: <gen-${i}@bench.test>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n${'Something is broken, please help. '.repeat(30)}\r\n`));
  }
  return corpus;
}

function config(work: string, name: string, mailboxes: string): string {
  const dir = path.join(work, `config-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'helpdesk.yaml'), `helpdesk: { address: support@example.test }\nmailboxes:${mailboxes ? `\n${mailboxes}` : " []"}\n`);
  return dir;
}

function ingestFromFiles(work: string, messages: Buffer[]): number {
  const dir = path.join(work, 'files');
  mkdirSync(dir);
  messages.forEach((m, i) => writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}.eml`), m));
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, '--config', config(work, 'files', ''), '--data', path.join(work, 'data-files'), 'ingest', dir], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HELPDESK_LOG_LEVEL: 'error' } });
  if (r.status !== 0) throw new Error(`helpdesk ingest exited ${r.status}`);
  return messages.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

const imapYaml = (dv: Dovecot, user: string) => `  - { id: bench, imap: { host: 127.0.0.1, port: ${dv.imapPort}, secure: false, user: "${user}", pass: test }, pollInterval: 1h }\n`;

async function drainBacklog(dv: Dovecot, user: string, work: string, n: number): Promise<{ rate: number; peakRssKb: number }> {
  const data = path.join(work, 'data-imap');
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, '--config', config(work, 'imap', imapYaml(dv, user)), '--data', data, 'start'], { stdio: 'ignore', env: { ...process.env, HELPDESK_LOG_LEVEL: 'warn' } });
  let seconds = 0;
  let peakRssKb = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      const db = new Database(path.join(data, 'helpdesk.sqlite'), { readonly: true, fileMustExist: true });
      const done = (db.prepare('select count(*) n from inbound').get() as { n: number }).n;
      db.close();
      if (done >= n) {
        seconds = Number(process.hrtime.bigint() - started) / 1e9;
        break;
      }
    } catch {
      // not created yet
    }
  }
  // VmHWM: the highest resident set size the process reached.
  peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { rate: n / seconds, peakRssKb };
}

async function arrivalLatency(dv: Dovecot, work: string, n: number) {
  const user = dynUser('latency');
  const client = await connect(dv, user);
  await client.mailboxCreate('Processed');
  const child = spawn(process.execPath, [CLI, '--config', config(work, 'latency', imapYaml(dv, user)), '--data', path.join(work, 'data-latency'), 'start'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HELPDESK_LOG_LEVEL: 'debug' } });
  const lines: { time: number; msg: string; position?: string }[] = [];
  let buffer = '';
  child.stderr.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p));
  });
  while (!lines.some((l) => l.msg === 'imap mailbox opened')) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const e2e: number[] = [];
  const own: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = lines.length;
    const res = await client.append('INBOX', Buffer.from(`From: c${i}@lat.test\r\nTo: support@example.test\r\nSubject: latency ${i}\r\nMessage-ID: <lat-${i}@lat.test>\r\n\r\nhello\r\n`));
    const appended = Date.now();
    const uid = res && typeof res === 'object' && 'uid' in res ? String(res.uid) : null;
    let done: { time: number } | undefined;
    const deadline = Date.now() + 30_000;
    while (!(done = lines.slice(from).find((l) => l.msg === 'message ingested' && (uid === null || l.position === uid)))) {
      if (Date.now() > deadline) throw new Error(`message ${i} (uid ${uid}) not ingested within 30 s; daemon said: ${JSON.stringify(lines.slice(from - 6))}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const notified = lines.slice(from).find((l) => l.msg === 'new mail notified');
    e2e.push(done.time - appended);
    if (notified) own.push(done.time - notified.time);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await client.logout();
  return { e2e50: percentile(e2e, 50), e2e99: percentile(e2e, 99), own50: percentile(own, 50), own99: percentile(own, 99) };
}

async function connect(dv: Dovecot, user: string): Promise<ImapFlow> {
  const client = new ImapFlow({ host: dv.host, port: dv.imapPort, secure: false, auth: { user, pass: 'test' }, logger: false, disableAutoIdle: true });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
