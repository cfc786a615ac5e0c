import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';
import type { Store } from '../store/open';
import type { JobOutcome } from './scheduler';
import { inDataDir } from '../locations';

export function backupDir(config: Config, store: Store): string {
  return inDataDir(store.dataDir, config.jobs.backup.directory ?? 'backups');
}

/**
 * An online backup of the database (better-sqlite3's backup API: consistent while the daemon
 * writes), as `helpdesk-<UTC timestamp>.sqlite`; only the newest `jobs.backup.keep` are kept.
 */
export async function backup(store: Store, config: Config, now: number): Promise<JobOutcome> {
  const dir = backupDir(config, store);
  mkdirSync(dir, { recursive: true });
  const name = `helpdesk-${new Date(now).toISOString().replace(/[:.]/g, '-')}.sqlite`;
  const file = path.join(dir, name);
  await store.sqlite.backup(file);
  const all = readdirSync(dir)
    .filter((f) => /^helpdesk-.*\.sqlite$/.test(f))
    .sort();
  const removed = all.slice(0, Math.max(0, all.length - config.jobs.backup.keep));
  for (const f of removed) rmSync(path.join(dir, f), { force: true });
  return { file, removed: removed.length };
}
