import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '../lib/backoff';

/**
 * Another process that wants to write the store (an MTA's pipe into `helpdesk ingest`) says so
 * with a file under `<data>/waiting/`, so that the daemon, busy with a backlog, lets it in
 * between two batches instead of winning the SQLite lock again and again (SQLite's busy
 * handler only polls, up to every 100 ms, and a daemon between batches holds the lock all but
 * a few milliseconds of each quarter second).
 */
const folder = (dataDir: string) => path.join(dataDir, 'waiting');

/** A wish older than this is left over from a process that died, and ignored. */
const STALE_MS = 30_000;

/** Announces that this process wants to write; the returned function withdraws it. */
export function announceWrite(dataDir: string): () => void {
  const file = path.join(folder(dataDir), `${process.pid}`);
  try {
    mkdirSync(folder(dataDir), { recursive: true });
    writeFileSync(file, '');
  } catch {
    return () => undefined; // a read-only data dir: the busy timeout alone has to do
  }
  return () => rmSync(file, { force: true });
}

/** Whether another process has announced that it wants to write (and did so recently). */
export function othersWaiting(dataDir: string, now = Date.now()): boolean {
  let names: string[];
  try {
    names = readdirSync(folder(dataDir));
  } catch {
    return false;
  }
  return names.some((name) => {
    if (name === String(process.pid)) return false;
    try {
      return now - statSync(path.join(folder(dataDir), name)).mtimeMs < STALE_MS;
    } catch {
      return false;
    }
  });
}

/** Waits, with no transaction open, while another process wants to write, up to `maxMs`. */
export async function letOthersIn(dataDir: string, maxMs: number): Promise<void> {
  if (!othersWaiting(dataDir)) return;
  const until = Date.now() + maxMs;
  while (Date.now() < until && othersWaiting(dataDir)) await sleep(10);
}
