import { fsyncFolders, writeAtomically } from '../lib/fsync';
import { close, fsync, mkdirSync, open, readdirSync, readFileSync, renameSync, rmSync, stat, unlink, write } from 'node:fs';
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../lib/errors';
import type { BatchFiles } from './group-commit';

/**
 * Content-addressed files under the data dir: raw messages in `raw/`, attachment bodies in
 * `attachments/`, each named by its sha256 and fanned out by the first two hex digits.
 * Writing is idempotent (same content, same name); a file cut short by a crash is noticed by
 * its size and rewritten atomically (temp file + rename). Returned paths are relative to the data dir.
 *
 * A save returns the file's path at once; the file is created, written and fsynced in the
 * background (libuv's thread pool), and read() serves its bytes meanwhile. flushed() waits
 * for those writes, and the store's durability barrier calls it before it makes the database
 * rows that name the files durable (Store.durable), so a source never acknowledges a message
 * whose raw bytes or attachments a power cut could still take, and a file that could not be
 * written (disk full) fails that barrier. Creating a file costs this disk 0.1 ms, and several
 * times that within minutes of mass deletes (ext4 without a journal skips every recently
 * freed inode); waiting for each fsync would cost about a millisecond per file. Neither is
 * spent on the thread that runs the pipeline.
 */
export interface Blobs extends BatchFiles {
  saveRaw(bytes: Buffer, sha256: string): string;
  saveAttachment(content: Buffer, sha256: string): string;
  /**
   * Copies a raw message that is too big to be read into memory from `file` into the store,
   * hashing it as it streams by, and makes the copy durable before it resolves.
   */
  keepRawFile(file: string | Buffer): Promise<{ relative: string; sha256: string }>;
  /** The bytes of a file saved before (`relative` as a save returned it), also while it is being written. */
  read(relative: string): Buffer;
}

/**
 * Where a blob is kept, relative to the data dir; PostgreSQL's `blobs` table keys its rows by
 * the same path, so the rows that name a blob read the same in both stores.
 */
export function blobPath(kind: (typeof KINDS)[number], sha256: string): string {
  return path.posix.join(kind, sha256.slice(0, 2), kind === 'raw' ? `${sha256}.eml` : sha256);
}

/** A file being written in the background. */
interface Write {
  bytes: Buffer;
  done: Promise<void>;
  /** flushSync() wrote the file itself: what the background write does next must not count. */
  superseded: boolean;
}

export function blobFiles(dataDir: string): Blobs {
  for (const kind of KINDS) makeFanOut(path.join(dataDir, kind));
  /** Files saved whose background write has not finished, by absolute path. */
  const writing = new Map<string, Write>();
  let failure: Error | null = null;

  const save = (kind: (typeof KINDS)[number], sha256: string, bytes: Buffer): string => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`refusing to store a blob named ${JSON.stringify(sha256)}`);
    const relative = blobPath(kind, sha256);
    const target = path.join(dataDir, relative);
    // The same content saved again while its first write is under way: that write serves both.
    if (writing.has(target)) return relative;
    const job: Write = { bytes, done: Promise.resolve(), superseded: false };
    job.done = writeDurably(target, bytes, job).then(
      () => undefined,
      (err: unknown) => {
        if (!job.superseded) failure ??= new Error(`cannot make ${relative} durable: ${errorMessage(err)}`);
      },
    );
    writing.set(target, job);
    void job.done.then(() => {
      if (writing.get(target) === job) writing.delete(target);
    });
    return relative;
  };

  return {
    saveRaw: (bytes, sha256) => save('raw', sha256, bytes),
    saveAttachment: (content, sha256) => save('attachments', sha256, content),
    async keepRawFile(file) {
      const tmp = path.join(dataDir, 'raw', `.incoming.${process.pid}.${++tmpCounter}.tmp`);
      try {
        const sha256 = await copyHashing(file, tmp);
        const relative = blobPath('raw', sha256);
        renameSync(tmp, path.join(dataDir, relative));
        fsyncFolders(path.dirname(path.join(dataDir, relative)), undefined);
        return { relative, sha256 };
      } finally {
        rmSync(tmp, { force: true });
      }
    },
    read(relative) {
      const target = path.join(dataDir, relative);
      return writing.get(target)?.bytes ?? readFileSync(target);
    },
    async flushed() {
      // Files saved while waiting are waited for too: when this resolves, nothing is pending.
      while (writing.size > 0) await Promise.all([...writing.values()].map((job) => job.done));
      const err = failure;
      failure = null;
      if (err) throw err;
    },
    flushSync() {
      // The background writes cannot be waited for here: write each file again, atomically,
      // from the bytes in hand (what its background write still does is then ignored).
      for (const [target, job] of writing) {
        job.superseded = true;
        writeAtomically(target, job.bytes);
      }
      writing.clear();
      const err = failure;
      failure = null;
      if (err) throw err;
    },
  };
}

/**
 * Writes `target` in the background: created exclusively (its fan-out folder was made when
 * the store was opened), written, fsynced. It already exists with the right size when this
 * content was stored before. Anything else (a fan-out folder removed since, a partial file
 * left by a crash) takes the slow, atomic path. A file that could not be written or made
 * durable is removed, so the next save of it writes it again.
 */
async function writeDurably(target: string, bytes: Buffer, job: Write): Promise<void> {
  let fd: number;
  try {
    fd = await call<number>((cb) => open(target, 'wx', cb));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await call<{ size: number }>((cb) => stat(target, cb))).size === bytes.length) return;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
    if (!job.superseded) writeAtomically(target, bytes);
    return;
  }
  try {
    for (let offset = 0; offset < bytes.length; ) offset += await call<number>((cb) => write(fd, bytes, offset, bytes.length - offset, null, cb));
    await call((cb) => fsync(fd, cb));
  } catch (err) {
    await call((cb) => close(fd, cb)).catch(() => undefined);
    // A file flushSync() wrote again in the meantime is a new one, and good.
    if (!job.superseded) await call((cb) => unlink(target, cb)).catch(() => undefined);
    throw err;
  }
  await call((cb) => close(fd, cb));
}

/** Copies `from` to `to` (created, fsynced) a megabyte at a time; resolves to the content's sha256. */
async function copyHashing(from: string | Buffer, to: string): Promise<string> {
  const hash = createHash('sha256');
  const input = await fsp.open(from, 'r');
  try {
    const output = await fsp.open(to, 'wx');
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      for (;;) {
        const { bytesRead } = await input.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        hash.update(chunk.subarray(0, bytesRead));
        for (let offset = 0; offset < bytesRead; ) offset += (await output.write(chunk, offset, bytesRead - offset)).bytesWritten;
      }
      await output.sync();
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  return hash.digest('hex');
}

/** A callback-style fs call as a promise (the fs functions are looked up at call time, so tests can hold or fail them). */
function call<T = void>(start: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

let tmpCounter = 0;

const KINDS = ['raw', 'attachments'] as const;
const FAN_OUT = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Makes the 256 fan-out folders of `dir` that are missing (all of them for a new store), and
 * makes them durable, once, when the store is opened: otherwise each of the first few hundred
 * messages of a new store would make one, with three synchronous fsyncs, while it is ingested.
 */
function makeFanOut(dir: string): void {
  const created = mkdirSync(dir, { recursive: true });
  const present = new Set(readdirSync(dir));
  const missing = FAN_OUT.filter((name) => !present.has(name));
  if (missing.length === 0) return;
  for (const name of missing) {
    try {
      mkdirSync(path.join(dir, name));
    } catch (err) {
      // Another process opening the same new store at the same time made it first.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  fsyncFolders(dir, created);
}
