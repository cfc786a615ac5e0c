import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import fs, { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/lib/log';
import { imapSource } from '../../src/mail-in/imap';
import { outboxWorker } from '../../src/mail-out/outbox-worker';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { maildirSource } from '../../src/mail-in/maildir';
import { createIntake } from '../../src/intake/intake';
import { sqliteIntakeStore } from '../../src/intake/intake-store';
import { ingest } from '../../src/pipeline/run';
import { getValue } from '../../src/store/key-value';
import { mailboxStateStore } from '../../src/store/mailbox-state';
import { openStore, type Store } from '../../src/store/open';
import { listTickets } from '../../src/store/tickets';
import { count, testClient } from '../harness/imap-client';
import { dynUser } from '../harness/dovecot';
import { useDovecot } from '../harness/use-dovecot';
import { waitFor } from '../helpers/cli';
import { imapMailboxYaml } from '../helpers/daemon';
import { openTestDesk, removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { errnoError, failFsyncs, fillDatabase } from '../helpers/faults';
import { buildMail } from '../helpers/mail';

/**
 * Group commit (store/open.ts, intake/intake.ts): transactions commit without fsync, and a
 * source's mail is acknowledged only after the intake's batch was committed and made to survive
 * a power cut. A power cut cannot be staged here; what can fail is the order: nothing may be
 * acknowledged when the batch fails. The faults are real ones where the daemon meets them: a
 * failing fsync of a raw file (node's fs, which blobs.ts calls) and a full database.
 */

const dovecot = useDovecot();
afterAll(() => removeTempDirs());

const BARRIER_KEY = 'store:durable-at';

describe('the durability barrier', () => {
  it('commits with synchronous=NORMAL and writes a FULL barrier only when something was committed since the last one', async () => {
    const dataDir = tempDir('hd-barrier-');
    const marker = () => {
      const probe = new Database(path.join(dataDir, 'helpdesk.sqlite'), { readonly: true });
      try {
        return probe.prepare('select value from key_value where key = ?').pluck().get(BARRIER_KEY);
      } finally {
        probe.close();
      }
    };
    openStore(dataDir).close(); // create and migrate
    const afterCreate = marker();
    expect(afterCreate).toBeDefined(); // the migrations were made durable at close
    await new Promise((r) => setTimeout(r, 5));
    const reopened = openStore(dataDir); // as a read-only command does
    await reopened.durable();
    reopened.close();
    expect(marker()).toBe(afterCreate); // opening to read writes nothing

    const desk = openTestDesk();
    try {
      const { store } = desk;
      expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      await store.durable();
      const first = getValue(store.db, BARRIER_KEY);
      expect(first).not.toBeNull(); // the migrations of this fresh store
      await new Promise((r) => setTimeout(r, 5));
      await store.durable();
      expect(getValue(store.db, BARRIER_KEY)).toBe(first); // nothing new: no write, no fsync
      await desk.ingest(buildMail({ messageId: '<d1@c.test>' }));
      await store.durable();
      const second = getValue(store.db, BARRIER_KEY);
      expect(second).not.toBe(first);
      expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(1);
      store.sqlite.exec('BEGIN');
      await expect(store.durable()).resolves.toBeUndefined(); // nothing changed in it yet
      store.sqlite.prepare("insert into key_value (key, value) values ('x', 'y')").run();
      await expect(store.durable()).rejects.toThrow(/inside a transaction/);
      store.sqlite.exec('ROLLBACK');
    } finally {
      desk.close();
    }
  });
});

describe('group commit (batch transactions)', () => {
  const raw = (bytes: Buffer, i: number) => ({ bytes, source: 'test', position: String(i), mailbox: 'support' });

  it('keeps a batch invisible to other connections until its commit, each message still all or nothing', async () => {
    const desk = openTestDesk();
    const other = new Database(path.join(desk.dataDir, 'helpdesk.sqlite'), { readonly: true });
    const tickets = () => other.prepare('select count(*) from tickets').pluck().get();
    try {
      const batch = desk.store.openBatch();
      const deps = { config: desk.config, store: desk.store, log: silentLogger(), batch };
      for (let i = 0; i < 3; i++) await ingest(raw(buildMail({ messageId: `<b-${i}@c.test>`, from: `b${i}@c.test` }), i), deps);
      expect(desk.store.sqlite.inTransaction).toBe(true);
      expect(listTickets(desk.store.db)).toHaveLength(3); // this connection sees its batch
      expect(tickets()).toBe(0); // nobody else does yet

      // A transaction that fails inside the batch undoes itself only.
      expect(() =>
        desk.store.db.transaction((tx) => {
          tx.run(sql`update tickets set subject = 'changed'`);
          throw new Error('this message fails');
        }),
      ).toThrow('this message fails');
      await batch.commit();
      expect(desk.store.sqlite.inTransaction).toBe(false);
      expect(tickets()).toBe(3);
      expect(other.prepare("select count(*) from tickets where subject = 'changed'").pluck().get()).toBe(0);
    } finally {
      other.close();
      desk.close();
    }
  });

  it('a message that finds its batch rolled back by SQLite is not written outside it, and the commit rejects', async () => {
    const desk = openTestDesk();
    try {
      const batch = desk.store.openBatch();
      const deps = { config: desk.config, store: desk.store, log: silentLogger(), batch };
      await ingest(raw(buildMail({ messageId: '<r-1@c.test>' }), 1), deps);
      desk.store.sqlite.exec('ROLLBACK'); // what SQLite does itself on SQLITE_FULL or an I/O error
      await expect(ingest(raw(buildMail({ messageId: '<r-2@c.test>', from: 'other@c.test' }), 2), deps)).rejects.toThrow(/rolled back the batch/);
      await expect(batch.commit()).rejects.toThrow(/ended/);
      expect(listTickets(desk.store.db)).toHaveLength(0); // neither message was kept
      // Offered again, the lost message is not a duplicate: it was never stored.
      expect((await desk.ingest(buildMail({ messageId: '<r-1@c.test>' }))).outcome).toBe('created');
    } finally {
      desk.close();
    }
  });
});

describe('the intake', () => {
  const delivery = (i: number, acks: string[], from = `x${i}@c.test`) => ({
    raw: { bytes: buildMail({ messageId: `<in-${i}@c.test>`, from }), source: 'test', position: String(i), mailbox: 'support' },
    ack: () => void acks.push(String(i)),
  });

  it('commits a batch that the source keeps waiting, then acknowledges it, before the next message comes', async () => {
    const desk = openTestDesk();
    const other = new Database(path.join(desk.dataDir, 'helpdesk.sqlite'), { readonly: true });
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false, batchMs: 100 });
    const acks: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowSource() {
      yield delivery(0, acks);
      await gate; // the source has nothing more for now (an IMAP fetch on a slow link)
      yield delivery(1, acks);
    }
    try {
      const pass = intake.run(slowSource());
      await waitFor(() => acks.length === 1 || undefined, 3000, 'first message acknowledged while the source waits');
      expect(other.prepare('select count(*) from tickets').pluck().get()).toBe(1);
      expect(desk.store.sqlite.inTransaction).toBe(false); // nobody's batch is left open
      release();
      expect(await pass).toEqual({ acknowledged: 2, failure: null });
      expect(acks).toEqual(['0', '1']);
    } finally {
      await intake.close();
      other.close();
      desk.close();
    }
  });

  it('lets other writers in between batches, and none of them commits or sees a batch in hand', async () => {
    const desk = openTestDesk();
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false, batchMessages: 2 });
    const acks: string[] = [];
    const seen: Array<{ inTransaction: boolean; tickets: number }> = [];
    async function* source() {
      for (let i = 0; i < 6; i++) {
        // Another writer asks for its turn while the intake is in the middle of a batch.
        if (i % 2 === 1) void desk.store.turn(() => seen.push({ inTransaction: desk.store.sqlite.inTransaction, tickets: listTickets(desk.store.db).length }));
        yield delivery(i, acks);
      }
    }
    try {
      expect(await intake.run(source())).toEqual({ acknowledged: 6, failure: null });
      expect(seen).toEqual([
        { inTransaction: false, tickets: 2 },
        { inTransaction: false, tickets: 4 },
        { inTransaction: false, tickets: 6 },
      ]);
    } finally {
      await intake.close();
      desk.close();
    }
  });
});

describe('sources acknowledge only what is durable, and retry until the store works again', () => {
  afterEach(() => jest.restoreAllMocks());

  /** A Maildir with `n` messages in new/. */
  const maildirWith = (n: number, prefix: string) => {
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(path.join(dir, 'new', `${i}.m`), buildMail({ messageId: `<${prefix}-${i}@c.test>`, from: `${prefix}${i}@c.test` }));
    return dir;
  };
  /** A desk, an intake and a Maildir source over `n` messages (not started); close() stops and closes them. */
  const maildirDesk = (n: number, prefix: string, intakeOptions: Partial<Parameters<typeof createIntake>[0]> = {}) => {
    const desk = openTestDesk();
    const dir = maildirWith(n, prefix);
    const state = mailboxStateStore(desk.store.db);
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false, ...intakeOptions });
    const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state, log: silentLogger(), maxMessageSize: desk.config.limits.maxMessageSize });
    const close = async () => {
      await source.stop();
      await intake.close();
      desk.close();
    };
    return { desk, dir, state, intake, source, close };
  };
  const inNew = (dir: string) => readdirSync(path.join(dir, 'new')).sort();
  const inCur = (dir: string) => readdirSync(path.join(dir, 'cur')).map((f) => f.replace(/:2,S$/, '')).sort();
  const stored = (store: Store) => store.sqlite.prepare('select position from inbound order by position').pluck().all() as string[];

  it('maildir: while raw files cannot be fsynced nothing leaves new/, status says failing, and the source retries by itself', async () => {
    const { desk, dir, state, intake, source, close } = maildirDesk(3, 'md');
    const failing = { now: true };
    const fsyncs = failFsyncs(() => failing.now);
    try {
      await source.start(intake);
      expect(fsyncs.failed()).toBeGreaterThan(0);
      expect(inNew(dir)).toEqual(['0.m', '1.m', '2.m']);
      expect(listTickets(desk.store.db)).toHaveLength(0); // the batch was rolled back with its files
      expect(state.get('local')).toMatchObject({ state: 'failing', lastError: expect.stringMatching(/EIO/) });

      failing.now = false; // no new delivery wakes the source: its own retry must
      await waitFor(() => inNew(dir).length === 0 || undefined, 10_000, 'retried after the backoff');
      expect(inCur(dir)).toEqual(['0.m', '1.m', '2.m']);
      expect(listTickets(desk.store.db)).toHaveLength(3);
      expect(state.get('local')?.state).toBe('watching');
    } finally {
      await close();
    }
  });

  it('maildir: a database that is full (SQLITE_FULL) acknowledges nothing unstored; once space returns all is stored once', async () => {
    const { desk, dir, state, intake, source, close } = maildirDesk(40, 'full', { batchMessages: 8 });
    const full = fillDatabase(desk.store);
    try {
      await source.start(intake);
      for (const f of inCur(dir)) expect(stored(desk.store)).toContain(f); // acknowledged ⇒ stored
      expect(inNew(dir).length).toBeGreaterThan(0);
      expect(state.get('local')?.lastError).toMatch(/full/);
      full.release();
      await waitFor(() => inNew(dir).length === 0 || undefined, 10_000, 'retried after the backoff');
      expect(listTickets(desk.store.db)).toHaveLength(40);
      expect(new Set(stored(desk.store)).size).toBe(40);
    } finally {
      await close();
    }
  });

  // Issue #18, reproduced on the old design: the outbox worker's barrier found the failed
  // fsync of message 0's raw file, rolled the batch back and swallowed the error; the source's
  // next barrier saw a clean state and moved all three files to cur/ though 0.m was never
  // stored. Now the worker waits for its turn and never commits a batch it did not open.
  it('maildir: the outbox worker draining mid-batch neither commits nor swallows the batch’s failure', async () => {
    const desk = openTestDesk();
    const dir = maildirWith(3, 'sb');
    let fail = true;
    failFsyncs(() => {
      const now = fail;
      fail = false;
      return now;
    });
    const worker = outboxWorker({ store: desk.store, config: () => desk.config, templates: loadTemplates(defaultTemplatesDir(), () => desk.config), transport: makeTransport(desk.config.outgoing, desk.dataDir), log: silentLogger(), pollMs: 3_600_000 });
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => desk.config, log: silentLogger(), parseAhead: false, onDurable: () => worker.wake() });
    const drains: Array<Promise<number>> = [];
    const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger(), maxMessageSize: desk.config.limits.maxMessageSize });
    // The worker drains while the intake's batch is open: right as each message is kept.
    const saveRaw = desk.store.blobs.saveRaw.bind(desk.store.blobs);
    jest.spyOn(desk.store.blobs, 'saveRaw').mockImplementation((bytes, sha) => {
      drains.push(worker.drain());
      return saveRaw(bytes, sha);
    });
    try {
      await source.start(intake);
      await Promise.all(drains);
      // Acknowledged ⇒ stored: nothing of the lost batch left new/.
      for (const f of inCur(dir)) expect(stored(desk.store)).toContain(f);
      expect(inNew(dir)).toContain('0.m');
      await waitFor(() => inNew(dir).length === 0 || undefined, 10_000, 'retried after the backoff');
      expect(listTickets(desk.store.db).map((t) => t.customer).sort()).toEqual(['sb0@c.test', 'sb1@c.test', 'sb2@c.test']);
    } finally {
      await source.stop();
      await intake.close();
      await worker.stop();
      desk.close();
    }
  });

  it('the outbox worker backs off while the store cannot record what it sent, without sending it again, and records it once it can', async () => {
    const desk = openTestDesk();
    await desk.ingest(buildMail({ messageId: '<ob@c.test>', from: 'ob@c.test' })); // queues the acknowledgement
    const retries: number[] = [];
    const log = pino({ level: 'error' }, new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          const l = JSON.parse(line) as { msg: string; retryInMs?: number };
          if (l.msg === 'outbox worker error; will retry') retries.push(l.retryInMs as number);
        }
        done();
      },
    }));
    desk.store.sqlite.pragma('query_only = 1'); // every write fails, as on a store remounted read-only
    const transport = makeTransport(desk.config.outgoing, desk.dataDir);
    const sends = jest.spyOn(transport, 'send');
    const worker = outboxWorker({ store: desk.store, config: () => desk.config, templates: loadTemplates(defaultTemplatesDir(), () => desk.config), transport, log, pollMs: 3_600_000 });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      // Before: an error every 50 ms (1,123 a minute). Now each wait at least as long as the last.
      expect(retries.length).toBeGreaterThan(0);
      expect(retries.length).toBeLessThanOrEqual(3);
      expect([...retries].sort((a, b) => a - b)).toEqual(retries);
      desk.store.sqlite.pragma('query_only = 0');
      const rows = desk.store.sqlite.prepare('select count(*) from outbox').pluck().get();
      await waitFor(() => desk.store.sqlite.prepare("select count(*) from outbox where status = 'sent'").pluck().get() === rows || undefined, 10_000, 'recorded as sent once the store works');
      // Each row sent once: retries recorded what the server had accepted instead of sending it again.
      const names = sends.mock.calls.map(([, name]) => name);
      expect(names).toHaveLength(rows as number);
      expect(new Set(names).size).toBe(names.length);
    } finally {
      await worker.stop();
      desk.close();
    }
  });

  it('the file outbox (the embedded default): no mail is recorded sent until its .eml file is fsynced; once fsync works each is written once', async () => {
    const desk = openTestDesk();
    await desk.ingest(buildMail({ messageId: '<fs@c.test>', from: 'fs@c.test' })); // queues the acknowledgement and the agent's notice
    const sentRows = () => desk.store.sqlite.prepare("select count(*) from outbox where status = 'sent'").pluck().get() as number;
    const rows = desk.store.sqlite.prepare('select count(*) from outbox').pluck().get() as number;
    let failing = true;
    let failed = 0;
    const real = fs.fsyncSync.bind(fs);
    jest.spyOn(fs, 'fsyncSync').mockImplementation((fd) => {
      if (!failing) return real(fd);
      failed++;
      throw errnoError('EIO', 'i/o error, fsync');
    });
    const worker = outboxWorker({ store: desk.store, config: () => desk.config, templates: loadTemplates(defaultTemplatesDir(), () => desk.config), transport: makeTransport(desk.config.outgoing, desk.dataDir), log: silentLogger(), pollMs: 3_600_000 });
    const outbox = path.join(desk.dataDir, 'outbox');
    try {
      await waitFor(() => desk.store.sqlite.prepare("select count(*) from outbox where last_error like '%EIO%'").pluck().get() === rows || undefined, 10_000, 'every row tried and failed');
      expect(failed).toBeGreaterThanOrEqual(rows);
      expect(sentRows()).toBe(0);
      expect(readdirSync(outbox)).toEqual([]); // no temp file left behind, and nothing that is not durable
      failing = false;
      desk.store.sqlite.prepare('update outbox set next_attempt_at = 0').run();
      worker.wake();
      await waitFor(() => sentRows() === rows || undefined, 10_000, 'every row sent once fsync works');
      const files = readdirSync(outbox);
      expect(files).toHaveLength(rows);
      for (const f of files) expect(readFileSync(path.join(outbox, f), 'utf8')).toMatch(/^Subject: \[HD-1\]/m);
    } finally {
      jest.restoreAllMocks();
      await worker.stop();
      desk.close();
    }
  });

  /**
   * `n` messages in a fresh user's inbox, a store, an intake and an IMAP source over them (not
   * started); `close` stops and closes everything.
   */
  async function imapDesk(n: number, intakeOptions: Partial<Parameters<typeof createIntake>[0]> = {}) {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    for (let i = 0; i < n; i++) await seed.append('INBOX', buildMail({ messageId: `<im-${i}@c.test>`, from: `i${i}@c.test` }));
    const config = loadConfig(writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test }\nmailboxes:\n${imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user })}` }));
    const desk = openTestDesk();
    const mailbox = config.mailboxes[0];
    if (!mailbox.imap) throw new Error('test config has no IMAP mailbox');
    const intake = createIntake({ store: sqliteIntakeStore(desk.store), config: () => config, log: silentLogger(), parseAhead: false, ...intakeOptions });
    const source = imapSource({ mailbox: { ...mailbox, imap: mailbox.imap }, state: mailboxStateStore(desk.store.db), log: silentLogger(), alertAfterMs: 3_600_000, batchSize: 2 });
    return {
      seed,
      desk,
      intake,
      source,
      close: async () => {
        await source.stop();
        await intake.close();
        await seed.logout();
        desk.close();
      },
    };
  }

  it('IMAP: moves nothing out of the inbox while raw files cannot be fsynced, and everything once they can', async () => {
    const failing = { now: true };
    const fsyncs = failFsyncs(() => failing.now);
    const { seed, desk, intake, source, close } = await imapDesk(3);
    try {
      await source.start(intake);
      await waitFor(() => fsyncs.failed() > 0 || undefined, 15_000, 'a batch tried');
      // The failed batch ends the session; give it time to (wrongly) acknowledge.
      await new Promise((r) => setTimeout(r, 500));
      expect(await count(seed, 'INBOX')).toBe(3);
      expect(await count(seed, 'Processed')).toBe(0);

      failing.now = false;
      await waitFor(async () => (await count(seed, 'Processed')) === 3 || undefined, 30_000, 'acknowledged once the store works');
      expect(await count(seed, 'INBOX')).toBe(0);
      expect(listTickets(desk.store.db)).toHaveLength(3);
    } finally {
      await close();
    }
  });

  it('IMAP: acknowledges each batch after its own commit; a batch that fails stays while the one before is moved', async () => {
    const failing = { now: false };
    let released = false;
    let durableBatches = 0;
    failFsyncs(() => failing.now);
    // The first batch is made durable; the next ones fail until released.
    const { seed, desk, intake, source, close } = await imapDesk(6, {
      batchMessages: 2,
      onDurable: () => {
        durableBatches++;
        failing.now = !released;
      },
    });
    try {
      await source.start(intake);
      await waitFor(async () => (await count(seed, 'Processed')) === 2 || undefined, 15_000, 'first batch acknowledged');
      await new Promise((r) => setTimeout(r, 500)); // time to (wrongly) acknowledge more
      expect(await count(seed, 'Processed')).toBe(2);
      expect(await count(seed, 'INBOX')).toBe(4);
      expect(durableBatches).toBe(1);

      released = true;
      failing.now = false;
      await waitFor(async () => (await count(seed, 'Processed')) === 6 || undefined, 30_000, 'all acknowledged once batches commit');
      expect(await count(seed, 'INBOX')).toBe(0);
      expect(listTickets(desk.store.db)).toHaveLength(6);
    } finally {
      await close();
    }
  });
});
