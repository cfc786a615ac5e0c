/**
 * `npm run bench:ingest [-- DIR]`: messages/second of raw mailparser parsing vs the whole
 * ingest pipeline (same messages, same run), and the pipeline on an empty store vs a store
 * holding 100,000 tickets. Prints figures; asserts nothing (targets are read by people).
 */
import { simpleParser } from 'mailparser';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/load';
import { silentLogger } from '../lib/log';
import { packageRoot } from '../lib/package-root';
import { createIntake } from '../intake/intake';
import { sqliteIntakeStore } from '../intake/intake-store';
import { parseAhead, type ParseAhead } from '../pipeline/parse-ahead';
import { openStore, type Store } from '../store/open';
import { loadCorpus, out, pct, percentile, rate } from './common';

async function main() {
  const dir = path.resolve(process.argv[2] ?? '../shared/corpus');
  const seedTickets = Number(process.env.BENCH_SEED_TICKETS ?? 100_000);
  const messages = loadCorpus(dir);
  const bytes = messages.reduce((n, m) => n + m.length, 0);
  out(`corpus: ${messages.length} messages, ${(bytes / 1e6).toFixed(1)} MB from ${dir}`);
  // Every run gets a fresh data dir; all of them are removed only after the last measurement.
  // Deleting one run's thousands of files right before the next is timed would charge their
  // deletion to that run: ext4 without a journal (these machines' disks) skips every inode
  // freed in the last 60-300 s when it allocates a new one (recently_deleted() in the kernel),
  // and each skipped inode costs a look at its inode table block, so file creation slows down
  // the more was just deleted. A daemon's data dir does not delete thousands of files a minute.
  const work = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-'));
  try {
    await measure(messages, work, seedTickets);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The shipped config, as `helpdesk ingest` on a fresh clone uses it. */
const config = loadConfig(path.join(packageRoot(), 'config'), {});

async function measure(messages: Buffer[], work: string, seedTickets: number): Promise<void> {
  // As in the daemon and `helpdesk ingest`, the next messages are parsed on a worker thread,
  // one for the whole process (a daemon's lives for months): its JIT must not start cold in
  // every run while raw simpleParser, on this thread, gets warmer from round to round.
  const early = parseAhead({ log: silentLogger(), maxBytes: config.limits.maxMessageSize });
  try {
    // Warm up both paths so JIT and module loading do not count.
    const warm = messages.slice(0, WARM_UP);
    for (const m of warm) await simpleParser(m);
    await pipelineRate(warm, 0, path.join(work, 'warm-up'), early);
    await measureRounds(messages, work, seedTickets, early);
  } finally {
    await early.close();
  }
}

const WARM_UP = 300;

async function measureRounds(messages: Buffer[], work: string, seedTickets: number, early: ParseAhead): Promise<void> {
  // Shared machines are noisy (steal time): alternate the two measurements and take the
  // median of each, so a slow spell does not land on one side only.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const parseRates: number[] = [];
  const emptyRates: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    quietDisk();
    parseRates.push(
      await rate(messages.length, async () => {
        for (const m of messages) await simpleParser(m);
      }),
    );
    quietDisk();
    emptyRates.push(await pipelineRate(messages, 0, path.join(work, `empty-${round}`), early));
    out(`round ${round}: raw simpleParser ${parseRates[round - 1].toFixed(0)} msg/s, full pipeline ${emptyRates[round - 1].toFixed(0)} msg/s (${pct(emptyRates[round - 1] / parseRates[round - 1])})`);
  }
  const parseRate = percentile(parseRates, 50);
  const empty = percentile(emptyRates, 50);
  out(`raw simpleParser:            ${parseRate.toFixed(0)} msg/s (median of ${rounds})`);
  out(`full pipeline, empty store:  ${empty.toFixed(0)} msg/s (median of ${rounds}; ${pct(empty / parseRate)} of raw parse; target >= 50%)`);

  quietDisk();
  const seeded = await pipelineRate(messages, seedTickets, path.join(work, 'seeded'), early);
  out(`full pipeline, ${seedTickets} tickets: ${seeded.toFixed(0)} msg/s  (${pct(seeded / empty)} of the empty-store rate; target >= 80%)`);
}

/**
 * Each run writes a few hundred MB; the kernel writes them back while the next run is timed,
 * and our fsyncs queue behind them. Start every measurement with nothing left to write.
 */
function quietDisk(): void {
  execFileSync('sync');
}

async function pipelineRate(messages: Buffer[], seed: number, data: string, early: ParseAhead): Promise<number> {
  const store = openStore(data);
  try {
    if (seed > 0) seedStore(store, seed);
    // Built as `helpdesk ingest` and the daemon build it: results count once acknowledged,
    // which the intake does only after their batch is durable.
    const intake = createIntake({ store: sqliteIntakeStore(store), config: () => config, log: silentLogger(), parseAhead: early });
    let acknowledged = 0;
    const deliveries = messages.map((bytes, i) => ({ raw: { bytes, source: 'bench', position: String(i), mailbox: 'bench' }, ack: () => void acknowledged++ }));
    const r = await rate(messages.length, async () => {
      const pass = await intake.run(deliveries);
      if (pass.failure) throw pass.failure;
    });
    await intake.close();
    if (acknowledged !== messages.length) throw new Error(`only ${acknowledged} of ${messages.length} results acknowledged`);
    return r;
  } finally {
    store.close();
  }
}

/** Fills the store with `n` tickets of two messages each, as ingest would have left them. */
function seedStore(store: Store, n: number): void {
  const started = Date.now();
  const db = store.sqlite;
  const now = Date.now();
  db.transaction(() => {
    const contact = db.prepare('insert into contacts (email, name, created_at) values (?, ?, ?)');
    const ticket = db.prepare("insert into tickets (ref, subject, status, severity, priority, category, customer_id, created_at, updated_at, due_at) values (?, ?, 'open', 'medium', 'medium', 'general', ?, ?, ?, ?)");
    const participant = db.prepare("insert into participants (ticket_id, contact_id, role, added_at) values (?, ?, 'customer', ?)");
    const message = db.prepare("insert into messages (ticket_id, direction, kind, message_id, references_ids, from_address, to_addresses, cc_addresses, subject, text, headers, created_at) values (?, 'in', 'customer', ?, '[]', ?, '[]', '[]', ?, ?, '[]', ?)");
    const mid = db.prepare('insert into message_ids (message_id, ticket_id, created_at) values (?, ?, ?)');
    const inbound = db.prepare("insert into inbound (raw_sha256, source, outcome, ticket_id, size, received_at) values (?, 'seed', 'created', ?, 1000, ?)");
    for (let i = 1; i <= n; i++) {
      const email = `customer${i}@seed.test`;
      const c = Number(contact.run(email, `Customer ${i}`, now).lastInsertRowid);
      const t = Number(ticket.run(`SEED-${i}`, `Seeded ticket ${i}`, c, now, now, now + 86_400_000).lastInsertRowid);
      participant.run(t, c, now);
      for (const k of [1, 2]) {
        const id = `<seed-${i}-${k}@seed.test>`;
        message.run(t, id, email, `Seeded ticket ${i}`, 'Lorem ipsum dolor sit amet. '.repeat(20), now);
        mid.run(id, t, now);
        inbound.run(`${i.toString(16).padStart(32, '0')}${k.toString(16).padStart(32, '0')}`, t, now);
      }
    }
  })();
  out(`seeded ${n} tickets in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
