import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { fsyncPath } from '../lib/fsync';
import path from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { HelpdeskError } from '../lib/errors';
import { MIGRATIONS, openStore } from './open';

export interface RestoreResult {
  restoredFrom: string;
  /** Where the database that was replaced now is (null: there was none). */
  previous: string | null;
  tickets: number;
  messages: number;
  /** The newest message in the backup: mail after it is not in the restored desk. */
  newestMessageAt: string | null;
  /** Raw mails and attachments the restored rows name that are not in the data dir. */
  missingFiles: number;
  /**
   * Raw mails in the data dir the restored database does not know (mail that arrived after
   * the backup), oldest first, and the file listing them (null when there are none).
   */
  unknownRawMails: number;
  unknownRawList: string | null;
}

const DB = 'helpdesk.sqlite';

/**
 * Puts a backup (`jobs.backup`'s `helpdesk-<time>.sqlite`, or any copy of the database) in
 * place of `<data>/helpdesk.sqlite`. The backup is checked first (SQLite integrity check, a
 * helpdesk database, not from a newer helpdesk); the database it replaces is kept beside it,
 * renamed, with its WAL; then the restored one is opened (pending migrations applied) and the
 * raw mail and attachment files its rows name are looked for, since the backup holds the
 * database only. The caller makes sure no daemon runs on the data dir.
 */
export function restoreDatabase(dataDir: string, backupFile: string, now: number): RestoreResult {
  checkBackup(backupFile);
  const live = path.join(dataDir, DB);
  let previous: string | null = null;
  if (existsSync(live)) {
    previous = path.join(dataDir, `helpdesk-replaced-${stamp(now)}.sqlite`);
    // The WAL moves with its database (SQLite finds it by name): the old desk stays complete.
    for (const suffix of ['-wal', '-shm', '']) if (existsSync(live + suffix)) renameSync(live + suffix, previous + suffix);
  }
  const tmp = path.join(dataDir, `.${DB}.restoring`);
  copyFileSync(backupFile, tmp);
  fsyncPath(tmp);
  renameSync(tmp, live);
  // The renames (the replaced database aside, the restored one in place) survive a power cut
  // only once the folder holding them is on disk too.
  fsyncPath(dataDir);

  const store = openStore(dataDir);
  try {
    const count = (sql: string) => Number(store.sqlite.prepare(sql).pluck().get() ?? 0);
    const newest = store.sqlite.prepare('select max(created_at) from messages').pluck().get() as number | null;
    const files = store.sqlite.prepare("select raw_path from messages where raw_path is not null union select path from attachments where path is not null union select raw_path from inbound where raw_path is not null").pluck().all() as string[];
    const known = new Set(files.map((f) => path.join(dataDir, f)));
    const unknown = rawMails(dataDir).filter((f) => !known.has(f.file)).sort((a, b) => a.mtime - b.mtime);
    const unknownRawList = unknown.length > 0 ? path.join(dataDir, `restore-${stamp(now)}-unknown-raw.txt`) : null;
    if (unknownRawList) writeFileSync(unknownRawList, unknown.map((f) => `${f.file}\n`).join(''));
    return {
      restoredFrom: path.resolve(backupFile),
      previous,
      tickets: count('select count(*) from tickets'),
      messages: count('select count(*) from messages'),
      newestMessageAt: newest === null ? null : new Date(newest).toISOString(),
      missingFiles: files.filter((f) => !existsSync(path.join(dataDir, f))).length,
      unknownRawMails: unknown.length,
      unknownRawList,
    };
  } finally {
    store.close();
  }
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[:.]/g, '-');
}

/** Every raw mail file under `<data>/raw` (fanned out by the first two hex digits), with its time. */
function rawMails(dataDir: string): { file: string; mtime: number }[] {
  const root = path.join(dataDir, 'raw');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(path.join(root, d.name)).filter((f) => f.endsWith('.eml')).map((f) => path.join(root, d.name, f)))
    .map((file) => ({ file, mtime: statSync(file).mtimeMs }));
}

/** Throws a HelpdeskError saying why the file cannot be restored. */
function checkBackup(file: string): void {
  if (!existsSync(file)) throw new HelpdeskError('BAD_BACKUP', `${file}: no such file`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new HelpdeskError('BAD_BACKUP', `${file} is not a SQLite database: ${(err as Error).message}`);
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new HelpdeskError('BAD_BACKUP', `${file} is damaged (SQLite integrity check: ${String(integrity)})`);
    const has = (table: string) => Boolean(db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(table));
    if (!has('__drizzle_migrations') || !has('tickets') || !has('messages')) throw new HelpdeskError('BAD_BACKUP', `${file} is not a helpdesk database (no tickets, messages or migrations tables)`);
    const theirs = Number(db.prepare('select max(created_at) from "__drizzle_migrations"').pluck().get() ?? 0);
    const ours = Math.max(...readMigrationFiles({ migrationsFolder: MIGRATIONS }).map((m) => m.folderMillis));
    if (theirs > ours) throw new HelpdeskError('BAD_BACKUP', `${file} was written by a newer helpdesk (its schema is newer than this version's); upgrade first`);
  } catch (err) {
    if (err instanceof HelpdeskError) throw err;
    throw new HelpdeskError('BAD_BACKUP', `${file} cannot be read as a database: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}
