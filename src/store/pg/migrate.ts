import { readMigrationFiles } from 'drizzle-orm/migrator';
import path from 'node:path';
import type { ClientBase } from 'pg';
import { packageRoot } from '../../lib/package-root';

export const PG_MIGRATIONS = path.join(packageRoot(), 'src', 'store', 'pg', 'migrations');

/** drizzle-kit's bookkeeping table, as the SQLite store keeps it (../migrate.ts). */
const CREATE_JOURNAL = 'CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)';
/** The advisory lock every daemon takes to migrate: one migrates, the others wait and find nothing left to do. */
const MIGRATION_LOCK = 'helpdesk:migrate';

/**
 * Applies the PostgreSQL migrations drizzle-kit generated in `folder` that the database does
 * not have yet, all in one transaction (PostgreSQL's DDL is transactional: a failed migration
 * leaves nothing half done). Safe when several daemons start on a fresh database at once: each
 * takes a transaction-scoped advisory lock before it looks at what is applied.
 */
export async function applyPgMigrations(client: ClientBase, folder = PG_MIGRATIONS): Promise<void> {
  const migrations = readMigrationFiles({ migrationsFolder: folder });
  await client.query('BEGIN');
  try {
    // No lock_timeout here (the pool's connections have one, store/pg/pool.ts): a daemon waits
    // for another's migration however long it takes (0004 rebuilds the search index of every
    // message), and the migration waits for the tables it alters.
    await client.query('SET LOCAL lock_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
    await client.query(CREATE_JOURNAL);
    const r = await client.query<{ last: string | null }>('SELECT max(created_at) AS last FROM "__drizzle_migrations"');
    const last = r.rows[0].last === null ? null : Number(r.rows[0].last);
    for (const migration of migrations) {
      if (last !== null && last >= migration.folderMillis) continue;
      for (const statement of migration.sql) if (statement.trim() !== '') await client.query(statement);
      await client.query('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES ($1, $2)', [migration.hash, migration.folderMillis]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
