import { close, closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlink, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BatchFiles } from './group-commit';

/**
 * Content-addressed files under the data dir: raw messages in `raw/`, attachment bodies in
 * `attachments/`, each named by its sha256 and fanned out by the first two hex digits.
 * Writing is idempotent (same content, same name); a file cut short by a crash is noticed by
 * its size and rewritten atomically (temp file + rename). Returned paths are relative to the data dir.
 *
 * A file is written at once and fsynced in the background (libuv's thread pool); flushed()
 * waits for those fsyncs, and the store's durability barrier calls it before it makes the
 * database rows that name the files durable (Store.durable), so a source never acknowledges
 * a message whose raw bytes or attachments a power cut could still take. Waiting for each
 * fsync where the file is written would cost about a millisecond per file on these disks;
 * a batch's fsyncs run side by side while the pipeline goes on.
 */
export interface Blobs extends BatchFiles {
  saveRaw(bytes: Buffer, sha256: string): string;
  saveAttachment(content: Buffer, sha256: string): string;
}

export function blobFiles(dataDir: string): Blobs {
  for (const kind of KINDS) makeFanOut(path.join(dataDir, kind));
  /** Files written whose fsync has not finished, by absolute path. */
  const syncing = new Map<string, Promise<void>>();
  let failure: Error | null = null;

  /** fsyncs (then closes) `fd` in the background; a file that did not reach the disk is removed, so the next save writes it again. */
  const syncInBackground = (target: string, fd: number) => {
    const done = new Promise<void>((resolve) => {
      fsync(fd, (err) => {
        close(fd, () => {
          if (err) {
            failure ??= new Error(`cannot make ${target} durable: ${err.message}`);
            unlink(target, () => resolve());
          } else resolve();
        });
      });
    });
    syncing.set(target, done);
    void done.then(() => {
      if (syncing.get(target) === done) syncing.delete(target);
    });
  };

  const save = (kind: string, name: string, bytes: Buffer): string => {
    if (!/^[0-9a-f]{64}(\.eml)?$/.test(name)) throw new Error(`refusing to store a blob named ${JSON.stringify(name)}`);
    const relative = path.join(kind, name.slice(0, 2), name);
    const target = path.join(dataDir, relative);
    // Hot path: create the file exclusively (its fan-out folder was made when the store was
    // opened). It already exists with the right size when this content was stored before.
    // Anything else (a fan-out folder removed since, a partial file left by a crash) takes
    // the slow, atomic path.
    let fd: number | null = null;
    try {
      fd = openSync(target, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(target).size === bytes.length) return relative;
      if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
    }
    if (fd !== null) {
      try {
        writeFileSync(fd, bytes);
      } catch (err) {
        // Disk full, I/O error: leave no partial file behind (the next save would rewrite it anyway).
        closeSync(fd);
        rmSync(target, { force: true });
        throw err;
      }
      syncInBackground(target, fd);
      return relative;
    }
    const created = mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    fsyncPath(tmp);
    renameSync(tmp, target);
    fsyncFolders(path.dirname(target), created);
    return relative;
  };

  return {
    saveRaw: (bytes, sha256) => save('raw', `${sha256}.eml`, bytes),
    saveAttachment: (content, sha256) => save('attachments', sha256, content),
    pending: () => syncing.size > 0 || failure !== null,
    async flushed() {
      // Files saved while waiting are waited for too: when this resolves, nothing is pending.
      while (syncing.size > 0) await Promise.all(syncing.values());
      const err = failure;
      failure = null;
      if (err) throw err;
    },
    flushSync() {
      for (const target of syncing.keys()) {
        try {
          fsyncPath(target);
        } catch (err) {
          // Removed after its background fsync failed: that failure is reported below.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      syncing.clear();
      const err = failure;
      failure = null;
      if (err) throw err;
    },
  };
}

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

/**
 * Makes the entries of `dir` durable, and `dir` itself with every folder mkdirSync made for it
 * (`created`: the first of them, as mkdirSync's recursive mode returns it) in the folder that
 * holds it.
 */
function fsyncFolders(dir: string, created: string | undefined): void {
  const top = created ? path.dirname(created) : dir;
  for (let folder = dir; ; folder = path.dirname(folder)) {
    fsyncPath(folder);
    if (folder === top || folder === path.dirname(folder)) break;
  }
}

function fsyncPath(target: string): void {
  const fd = openSync(target, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
