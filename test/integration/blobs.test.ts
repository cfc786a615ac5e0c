import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../src/lib/hash';
import { getValue } from '../../src/store/key-value';
import { openStore, type Store } from '../../src/store/open';
import { waitFor } from '../helpers/cli';
import { errnoError } from '../helpers/faults';
import { removeTempDirs, tempDir } from '../helpers/env';

/**
 * Raw messages and attachments are files (store/blobs.ts), written and fsynced in the
 * background; the durability barrier must not make the rows that name them durable before the
 * files are. fs calls are replaced only to hold them back or make them fail: the files are real.
 */

afterAll(() => removeTempDirs());
afterEach(() => jest.restoreAllMocks());

type FsyncCallback = (err: NodeJS.ErrnoException | null) => void;

/** Holds every background fsync until release(); the real fsync then runs. */
function holdFsyncs() {
  const realFsync = fs.fsync.bind(fs);
  const held: Array<() => void> = [];
  const spy = jest.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCallback) => {
    held.push(() => realFsync(fd, cb));
  }) as typeof fs.fsync);
  return {
    count: () => held.length,
    release: () => {
      spy.mockRestore();
      held.splice(0).forEach((run) => run());
    },
  };
}

const BARRIER_KEY = 'store:durable-at';

/** A blob name in fan-out folder `folder`. */
const nameIn = (folder: string, text: string) => `${folder}${sha256Hex(Buffer.from(text)).slice(2)}`;

/** Runs `test` on a fresh store, closed afterwards. */
async function withStore(test: (store: Store, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = tempDir('hd-blobs-');
  const store = openStore(dataDir);
  try {
    await test(store, dataDir);
  } finally {
    store.close();
  }
}


describe('blob files and the durability barrier', () => {
  it('waits for the fsync of every saved file before it makes the store durable', () =>
    withStore(async (store, dataDir) => {
      const name = (text: string) => nameIn('ab', text);
      const before = getValue(store.db, BARRIER_KEY);

      const fsyncs = holdFsyncs();
      const bytes = Buffer.from('From: a@b.test\r\nSubject: x\r\n\r\nbody');
      const rawPath = store.blobs.saveRaw(bytes, name('message'));
      store.blobs.saveAttachment(Buffer.from('attached'), name('attached'));
      store.sqlite.prepare("insert into key_value (key, value) values ('row', 'naming the file')").run();
      await waitFor(() => fsyncs.count() === 2, 3000, 'both files written, their fsyncs held');

      let done = false;
      const barrier = store.durable().then(() => (done = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(done).toBe(false); // the barrier waits for the files
      expect(getValue(store.db, BARRIER_KEY)).toBe(before); // and has not made the row durable yet
      fsyncs.release();
      await barrier;
      expect(getValue(store.db, BARRIER_KEY)).not.toBe(before);
      expect(fs.readFileSync(path.join(dataDir, rawPath))).toEqual(bytes);
    }));

  it('fails the barrier once when a file could not be made durable, removes it, rolls the batch back, and writes it again when saved again', () =>
    withStore(async (store, dataDir) => {
      const bytes = Buffer.from('attachment body');
      const sha = nameIn('ef', 'attachment body');
      jest.spyOn(fs, 'fsync').mockImplementation(((_fd: number, cb: FsyncCallback) => {
        setImmediate(() => cb(errnoError('EIO', 'i/o error, fsync')));
      }) as typeof fs.fsync);
      const batch = store.openBatch(); // as the intake does: the message's rows in a batch
      batch.join();
      store.sqlite.prepare("insert into key_value (key, value) values ('row', 'naming the file')").run();
      const relative = store.blobs.saveAttachment(bytes, sha);
      await expect(batch.commit()).rejects.toThrow(/cannot make .* durable: EIO/);
      expect(fs.existsSync(path.join(dataDir, relative))).toBe(false);
      // The rows naming the lost file are gone too: offered again, the message is new, not a duplicate.
      expect(store.sqlite.inTransaction).toBe(false);
      expect(getValue(store.db, 'row')).toBeNull();
      jest.restoreAllMocks();

      await expect(store.durable()).resolves.toBeUndefined(); // reported once
      store.blobs.saveAttachment(bytes, sha); // the message offered again saves it again
      await store.durable();
      expect(fs.readFileSync(path.join(dataDir, relative))).toEqual(bytes);
    }));

  it('fails the barrier when a file cannot be written (disk full), leaving no partial file, and writes it when saved again', () =>
    withStore(async (store, dataDir) => {
      jest.spyOn(fs, 'write').mockImplementationOnce(((_fd: number, _buffer: Buffer, _offset: number, _length: number, _position: null, cb: (err: NodeJS.ErrnoException | null, written: number) => void) => {
        setImmediate(() => cb(errnoError('ENOSPC', 'no space left on device, write'), 0));
      }) as unknown as typeof fs.write);
      const name = nameIn('cd', 'big');
      const relative = store.blobs.saveAttachment(Buffer.from('big'), name);
      expect(relative).toBe(path.join('attachments', 'cd', name)); // the path is known at once
      await expect(store.durable()).rejects.toThrow(/cannot make .* durable: ENOSPC/);
      expect(fs.existsSync(path.join(dataDir, relative))).toBe(false);
      await expect(store.durable()).resolves.toBeUndefined(); // reported once
      store.blobs.saveAttachment(Buffer.from('big'), name);
      await store.durable();
      expect(fs.readFileSync(path.join(dataDir, relative), 'utf8')).toBe('big');
    }));

  it('serves a file that is still being written, and writes content saved twice meanwhile once', () =>
    withStore(async (store, dataDir) => {
      const realOpen = fs.open.bind(fs);
      const held: Array<() => void> = [];
      const openSpy = jest.spyOn(fs, 'open').mockImplementation(((...args: Parameters<typeof fs.open>) => {
        held.push(() => (realOpen as (...a: unknown[]) => void)(...args));
      }) as typeof fs.open);
      const bytes = Buffer.from('From: a@b.test\r\n\r\nbody');
      const name = nameIn('5e', 'twice');
      const relative = store.blobs.saveRaw(bytes, name);
      expect(store.blobs.saveRaw(bytes, name)).toBe(relative);
      expect(fs.existsSync(path.join(dataDir, relative))).toBe(false);
      expect(store.blobs.read(relative)).toEqual(bytes);
      expect(held).toHaveLength(1);
      openSpy.mockRestore();
      held.splice(0).forEach((run) => run());
      await store.durable();
      expect(fs.readFileSync(path.join(dataDir, relative))).toEqual(bytes);
      expect(store.blobs.read(relative)).toEqual(bytes); // from the file now
    }));

  it('makes every fan-out folder when the store is opened, so no message pays for one', async () => {
    const dataDir = tempDir('hd-blobs-');
    openStore(dataDir).close();
    for (const kind of ['raw', 'attachments']) expect(fs.readdirSync(path.join(dataDir, kind))).toHaveLength(256);
    // One removed since (by hand) is made again at the next open...
    fs.rmdirSync(path.join(dataDir, 'raw', '7f'));
    const store = openStore(dataDir);
    try {
      expect(fs.existsSync(path.join(dataDir, 'raw', '7f'))).toBe(true);
      // ...and one removed while the store is open is made by the save that needs it.
      fs.rmdirSync(path.join(dataDir, 'attachments', '3c'));
      const relative = store.blobs.saveAttachment(Buffer.from('late'), nameIn('3c', 'late'));
      await store.durable();
      expect(fs.readFileSync(path.join(dataDir, relative), 'utf8')).toBe('late');
    } finally {
      store.close();
    }
  });

  describe('a batch commit', () => {
    /** Another connection: what a crash would find once the batch is committed. */
    const rowSeenBy = (dataDir: string) => {
      const other = new Database(path.join(dataDir, 'helpdesk.sqlite'), { readonly: true });
      return {
        seen: () => other.prepare("select count(*) from key_value where key = 'row'").pluck().get() === 1,
        close: () => other.close(),
      };
    };

    it('commits only once the files its rows name are on disk', () =>
      withStore(async (store, dataDir) => {
        const other = rowSeenBy(dataDir);
        try {
          const fsyncs = holdFsyncs();
          const batch = store.openBatch();
          batch.join();
          store.sqlite.prepare("insert into key_value (key, value) values ('row', 'naming the file')").run();
          store.blobs.saveAttachment(Buffer.from('held'), nameIn('aa', 'held'));
          let committed = false;
          const commit = batch.commit().then(() => (committed = true));
          await new Promise((r) => setTimeout(r, 200));
          expect(committed).toBe(false);
          expect(other.seen()).toBe(false);
          expect(store.sqlite.inTransaction).toBe(true);
          fsyncs.release();
          await commit;
          expect(other.seen()).toBe(true);
        } finally {
          other.close();
        }
      }));

    it('rolls back when SQLite rolled the batch back under it, and a later join says so', () =>
      withStore(async (store) => {
        const batch = store.openBatch();
        batch.join();
        store.sqlite.prepare("insert into key_value (key, value) values ('row', 'lost')").run();
        store.sqlite.exec('ROLLBACK'); // what SQLite does itself on some I/O errors
        expect(() => batch.join()).toThrow(/rolled back the batch/);
        expect(getValue(store.db, 'row')).toBeNull();
        // The store is free for the next batch, and one batch at a time.
        const next = store.openBatch();
        expect(() => store.openBatch()).toThrow(/already open/);
        await expect(store.durable()).rejects.toThrow(/while a batch is open/);
        await next.commit();
        await expect(store.durable()).resolves.toBeUndefined();
      }));
  });

  it('close() fsyncs what is still pending itself', async () => {
    const dataDir = tempDir('hd-blobs-');
    const store = openStore(dataDir);
    const fsyncs = holdFsyncs();
    const syncSpy = jest.spyOn(fs, 'fsyncSync');
    const bytes = Buffer.from('late message');
    const relative = store.blobs.saveRaw(bytes, nameIn('01', 'late message'));
    await waitFor(() => fsyncs.count() > 0, 3000, 'the file written, its fsync held');
    store.close();
    expect(syncSpy).toHaveBeenCalled();
    fsyncs.release();
    await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(path.join(dataDir, relative))).toEqual(bytes);
  });

  it('close() right after a save writes the file itself, before its background write has begun', async () => {
    const dataDir = tempDir('hd-blobs-');
    const store = openStore(dataDir);
    const bytes = Buffer.from('closing message');
    const relative = store.blobs.saveRaw(bytes, nameIn('02', 'closing message'));
    store.close();
    expect(fs.readFileSync(path.join(dataDir, relative))).toEqual(bytes);
    // The background write then finds the file there, whole, and leaves it.
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readFileSync(path.join(dataDir, relative))).toEqual(bytes);
    expect(fs.readdirSync(path.join(dataDir, 'raw', '02'))).toEqual([path.basename(relative)]);
  });
});
