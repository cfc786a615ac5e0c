import type Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';

/** drizzle-kit's bookkeeping table, kept as drizzle's own migrator writes it. */
const CREATE_JOURNAL = 'CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)';

/**
 * Applies the migrations drizzle-kit generated in `folder` that the database does not have yet,
 * in the same bookkeeping as drizzle's migrate(). Unlike drizzle's migrate(), which decides
 * what is missing before it takes the write lock, this is safe when several processes open a
 * fresh store at once (the daemon and a `helpdesk status` beside it): the check is repeated
 * inside an IMMEDIATE transaction, so the second process waits (busy_timeout) and then finds
 * nothing left to do, instead of failing on `CREATE TABLE` of a table the first just made.
 */
export function applyMigrations(sqlite: Database.Database, folder: string): void {
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  const newest = Math.max(...migrations.map((m) => m.folderMillis));
  const lastApplied = (): number | null => {
    const exists = sqlite.prepare("select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'").get();
    if (!exists) return null;
    const last = sqlite.prepare('select created_at from "__drizzle_migrations" order by created_at desc limit 1').pluck().get();
    return last === undefined || last === null ? null : Number(last);
  };
  // The common case, read only: a reader (`tickets list`) beside a busy daemon takes no write lock.
  const seen = lastApplied();
  if (seen !== null && seen >= newest) return;
  sqlite
    .transaction(() => {
      sqlite.exec(CREATE_JOURNAL);
      const last = lastApplied();
      const record = sqlite.prepare('insert into "__drizzle_migrations" ("hash", "created_at") values (?, ?)');
      for (const migration of migrations) {
        if (last !== null && last >= migration.folderMillis) continue;
        for (const statement of migration.sql) sqlite.exec(statement);
        record.run(migration.hash, migration.folderMillis);
      }
    })
    .immediate();
}
