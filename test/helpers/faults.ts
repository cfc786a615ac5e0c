import fs from 'node:fs';
import type { Store } from '../../src/store/open';

type FsyncCallback = (err: NodeJS.ErrnoException | null) => void;

export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/**
 * Makes the background fsyncs of raw and attachment files (store/blobs.ts, the very calls the
 * daemon makes) fail with `code` while `failing()` says so; the real fsync runs otherwise.
 * Restored by jest.restoreAllMocks().
 */
export function failFsyncs(failing: () => boolean, code = 'EIO'): { failed: () => number } {
  const real = fs.fsync.bind(fs);
  let failed = 0;
  jest.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: FsyncCallback) => {
    if (!failing()) return real(fd, cb);
    failed++;
    setImmediate(() => cb(errnoError(code, 'i/o error, fsync')));
  }) as typeof fs.fsync);
  return { failed: () => failed };
}

/**
 * Fills the database: no page may be added (PRAGMA max_page_count on the store's own
 * connection), so the next write that needs one fails with SQLITE_FULL, as on a full disk.
 * `release()` gives the space back.
 */
export function fillDatabase(store: Store): { release(): void } {
  const limit = store.sqlite.pragma('max_page_count', { simple: true }) as number;
  store.sqlite.pragma(`max_page_count = ${store.sqlite.pragma('page_count', { simple: true }) as number}`);
  return { release: () => void (store.sqlite.open && store.sqlite.pragma(`max_page_count = ${limit}`)) };
}
