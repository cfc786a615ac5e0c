import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import fs, { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { silentLogger } from '../../src/lib/log';
import { imapSource } from '../../src/mail-in/imap';
import { outboxWorker } from '../../src/mail-out/outbox-worker';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import { makeTransport } from '../../src/mail-out/transport';
import { maildirSource } from '../../src/mail-in/maildir';
import type { MessageSink } from '../../src/mail-in/source';
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
import { buildMail } from '../helpers/mail';

/**
 * Group commit (store/open.ts): transactions commit without fsync, and a source acknowledges
 * mail only after Store.durable() made them survive a power cut. A power cut cannot be staged
 * here; what can fail is the order: nothing may be acknowledged when the barrier fails.
 */

const dovecot = useDovecot();
afterAll(() => removeTempDirs());

const BARRIER_KEY = 'store:durable-at';

/** The pipeline into `store`; its barrier fails while `failing.now` is true. */
function sinkFor(store: Store, config: ReturnType<typeof loadConfig>, failing: { now: boolean }): MessageSink & { barriers: number } {
  const sink = {
    barriers: 0,
    ingest: (raw: Parameters<MessageSink['ingest']>[0]) => ingest(raw, { config, store, log: silentLogger() }),
    durable: async () => {
      sink.barriers++;
      if (failing.now) throw new Error('disk I/O error (simulated)');
      await store.durable();
    },
  };
  return sink;
}

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

  it('keeps a batch invisible to other connections until durable(), each message still all or nothing', async () => {
    const desk = openTestDesk();
    const other = new Database(path.join(desk.dataDir, 'helpdesk.sqlite'), { readonly: true });
    const tickets = () => other.prepare('select count(*) from tickets').pluck().get();
    try {
      const deps = { config: desk.config, store: desk.store, log: silentLogger(), groupCommit: true };
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
      await desk.store.durable();
      expect(desk.store.sqlite.inTransaction).toBe(false);
      expect(tickets()).toBe(3);
      expect(other.prepare("select count(*) from tickets where subject = 'changed'").pluck().get()).toBe(0);
    } finally {
      other.close();
      desk.close();
    }
  });

  it('commits a batch nobody makes durable within a second (a source waiting for mail)', async () => {
    const desk = openTestDesk();
    const other = new Database(path.join(desk.dataDir, 'helpdesk.sqlite'), { readonly: true });
    try {
      await ingest(raw(buildMail({ messageId: '<t@c.test>' }), 0), { config: desk.config, store: desk.store, log: silentLogger(), groupCommit: true });
      expect(other.prepare('select count(*) from tickets').pluck().get()).toBe(0);
      await waitFor(() => other.prepare('select count(*) from tickets').pluck().get() === 1 || undefined, 3000, 'batch committed by its timer');
    } finally {
      other.close();
      desk.close();
    }
  });

  it('makes durable() throw, once, when SQLite rolled the batch back, so nothing of it is acknowledged', async () => {
    const desk = openTestDesk();
    try {
      const deps = { config: desk.config, store: desk.store, log: silentLogger(), groupCommit: true };
      await ingest(raw(buildMail({ messageId: '<r-1@c.test>' }), 1), deps);
      desk.store.sqlite.exec('ROLLBACK'); // what SQLite does itself on SQLITE_FULL or an I/O error
      await ingest(raw(buildMail({ messageId: '<r-2@c.test>', from: 'other@c.test' }), 2), deps);
      await expect(desk.store.durable()).rejects.toThrow(/rolled back the batch/);
      expect(listTickets(desk.store.db).map((t) => t.subject)).toHaveLength(1); // the first message is gone
      await expect(desk.store.durable()).resolves.toBeUndefined();
      // Offered again, the lost message is not a duplicate: it was never stored.
      expect((await ingest(raw(buildMail({ messageId: '<r-1@c.test>' }), 1), deps)).outcome).toBe('created');
      await desk.store.durable();
    } finally {
      desk.close();
    }
  });
});

describe('sources acknowledge only after the barrier', () => {
  it('maildir: leaves processed mail in new/ while the barrier fails, then moves it once it works', async () => {
    const desk = openTestDesk();
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(path.join(dir, 'new', `${i}.m`), buildMail({ messageId: `<md-${i}@c.test>`, from: `m${i}@c.test` }));
    const failing = { now: true };
    const sink = sinkFor(desk.store, desk.config, failing);
    const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger() });
    try {
      await source.start(sink);
      expect(listTickets(desk.store.db)).toHaveLength(3); // ingested and committed...
      expect(sink.barriers).toBeGreaterThan(0);
      expect(readdirSync(path.join(dir, 'new')).sort()).toEqual(['0.m', '1.m', '2.m']); // ...but not acknowledged
      expect(readdirSync(path.join(dir, 'cur'))).toEqual([]);
      await source.stop();

      failing.now = false;
      const again = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger() });
      await again.start(sink);
      await again.stop();
      expect(readdirSync(path.join(dir, 'new'))).toEqual([]);
      expect(readdirSync(path.join(dir, 'cur')).sort()).toEqual(['0.m:2,S', '1.m:2,S', '2.m:2,S']);
      expect(listTickets(desk.store.db)).toHaveLength(3); // the second pass found duplicates
    } finally {
      desk.close();
    }
  });

  // Issue #18, reproduced: the outbox worker's barrier found the failed fsync of message 0's
  // raw file, rolled the batch back and swallowed the error; the source's next barrier saw a
  // clean state and moved all three files to cur/ though 0.m was never stored.
  it('maildir: a batch lost in the outbox worker’s barrier is reported to the source too; nothing unstored is acknowledged', async () => {
    const desk = openTestDesk();
    const dir = tempDir('hd-maildir-');
    mkdirSync(path.join(dir, 'new'), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(path.join(dir, 'new', `${i}.m`), buildMail({ messageId: `<sb-${i}@c.test>`, from: `s${i}@c.test` }));
    const fsyncs = jest.spyOn(fs, 'fsync').mockImplementationOnce(((_fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
      setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })));
    }) as typeof fs.fsync);
    // As the daemon wires them (main.ts): the worker and the source each own a barrier.
    const worker = outboxWorker({ store: desk.store, config: () => desk.config, templates: loadTemplates(defaultTemplatesDir(), () => desk.config), transport: makeTransport(desk.config.outgoing, desk.dataDir), log: silentLogger(), pollMs: 3_600_000 });
    const own = desk.store.barrier();
    let n = 0;
    let workerError: unknown = null;
    const sink: MessageSink = {
      ingest: async (raw) => {
        const r = await ingest(raw, { config: desk.config, store: desk.store, log: silentLogger(), groupCommit: true });
        if (++n === 1) await worker.drain().catch((err: unknown) => (workerError = err));
        return r;
      },
      durable: own,
    };
    const stored = () => desk.store.sqlite.prepare('select position from inbound order by position').pluck().all();
    try {
      const source = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger() });
      await source.start(sink);
      await source.stop();
      expect(String(workerError)).toMatch(/EIO/);
      expect(stored()).toEqual(['1.m', '2.m']);
      // Acknowledged ⇒ stored: 0.m was lost with its batch and stays in new/.
      const acked = readdirSync(path.join(dir, 'cur')).map((f) => f.replace(/:2,S$/, ''));
      for (const f of acked) expect(stored()).toContain(f);
      expect(readdirSync(path.join(dir, 'new'))).toContain('0.m');

      fsyncs.mockRestore();
      const again = maildirSource({ id: 'local', dir, pollIntervalMs: 60_000, state: mailboxStateStore(desk.store.db), log: silentLogger() });
      await again.start({ ...sink, ingest: (raw) => ingest(raw, { config: desk.config, store: desk.store, log: silentLogger(), groupCommit: true }) });
      await again.stop();
      expect(readdirSync(path.join(dir, 'new'))).toEqual([]);
      expect(listTickets(desk.store.db).map((t) => t.customer).sort()).toEqual(['s0@c.test', 's1@c.test', 's2@c.test']);
    } finally {
      fsyncs.mockRestore();
      await worker.stop();
      desk.close();
    }
  });

  /**
   * `n` messages in a fresh user's inbox, a store, and an IMAP source over them (not started)
   * whose sink's barrier fails while `failing.now`; `close` stops and closes everything.
   */
  async function imapDesk(n: number, failing: { now: boolean }, batchSize?: number) {
    const user = dynUser();
    const seed = await testClient(dovecot(), user);
    for (let i = 0; i < n; i++) await seed.append('INBOX', buildMail({ messageId: `<im-${i}@c.test>`, from: `i${i}@c.test` }));
    const config = loadConfig(writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test }\nmailboxes:\n${imapMailboxYaml({ id: 'support', port: dovecot().imapPort, user })}` }));
    const desk = openTestDesk();
    const mailbox = config.mailboxes[0];
    if (!mailbox.imap) throw new Error('test config has no IMAP mailbox');
    const sink = sinkFor(desk.store, config, failing);
    const source = imapSource({ mailbox: { ...mailbox, imap: mailbox.imap }, state: mailboxStateStore(desk.store.db), log: silentLogger(), alertAfterMs: 3_600_000, batchSize });
    return {
      seed,
      desk,
      sink,
      source,
      close: async () => {
        await source.stop();
        await seed.logout();
        desk.close();
      },
    };
  }

  it('IMAP: moves nothing out of the inbox while the barrier fails, and everything once it works', async () => {
    const failing = { now: true };
    const { seed, desk, sink, source, close } = await imapDesk(3, failing);
    try {
      await source.start(sink);
      await waitFor(() => (sink.barriers > 0 && listTickets(desk.store.db).length === 3) || undefined, 15_000, 'ingested, barrier tried');
      // The failed barrier ends the session; give it time to (wrongly) acknowledge.
      await new Promise((r) => setTimeout(r, 500));
      expect(await count(seed, 'INBOX')).toBe(3);
      expect(await count(seed, 'Processed')).toBe(0);

      failing.now = false;
      await waitFor(async () => (await count(seed, 'Processed')) === 3 || undefined, 30_000, 'acknowledged after the barrier works');
      expect(await count(seed, 'INBOX')).toBe(0);
      expect(listTickets(desk.store.db)).toHaveLength(3);
    } finally {
      await close();
    }
  });

  it('IMAP: acknowledges each batch after its own barrier; a batch whose barrier fails stays while the one before is moved', async () => {
    const failing = { now: false };
    let released = false;
    const { seed, desk, sink, source, close } = await imapDesk(6, failing, 2);
    const barrier = sink.durable;
    // The first batch's barrier works; the next ones fail until released.
    sink.durable = () => {
      failing.now = sink.barriers >= 1 && !released;
      return barrier();
    };
    try {
      await source.start(sink);
      await waitFor(() => sink.barriers >= 2 || undefined, 15_000, 'second barrier tried');
      await new Promise((r) => setTimeout(r, 500)); // time to (wrongly) acknowledge
      expect(await count(seed, 'Processed')).toBe(2);
      expect(await count(seed, 'INBOX')).toBe(4);

      released = true;
      await waitFor(async () => (await count(seed, 'Processed')) === 6 || undefined, 30_000, 'all acknowledged once barriers work');
      expect(await count(seed, 'INBOX')).toBe(0);
      expect(listTickets(desk.store.db)).toHaveLength(6);
    } finally {
      await close();
    }
  });
});
