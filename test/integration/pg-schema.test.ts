import { getTableConfig as pgTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { sleep } from '../../src/lib/backoff';
import { StoreUnavailableError } from '../../src/lib/errors';
import { silentLogger } from '../../src/lib/log';
import { applyPgMigrations, PG_MIGRATIONS } from '../../src/store/pg/migrate';
import { openPgPool } from '../../src/store/pg/pool';
import * as pgSchema from '../../src/store/pg/schema';
import { kindOf } from '../../src/store/pg/tables';
import { openStore } from '../../src/store/open';
import * as sqliteSchema from '../../src/store/schema';
import { startTcpProxy } from '../harness/tcp-proxy';
import { usePostgres } from '../harness/use-postgres';

/**
 * Issue #25: the SQLite and the PostgreSQL store must keep the same data model. Both migration
 * sets are applied to real, empty databases, and what they built is compared, in meaning:
 * tables, columns (a kind per column: int, float, text, json, bool), NOT NULL, defaults,
 * primary keys, foreign keys, unique and plain indexes. What only one dialect has is listed
 * here by name, with why.
 */
const pg = usePostgres();

/** Objects one dialect has for a job the other does differently, or does not need. */
// FTS5 index, its shadow tables and its word counts (messages_vocab); PostgreSQL: messages.search (tsvector) and ts_stat.
const ONLY_SQLITE_TABLES = /^messages_(fts|vocab)/;
const ONLY_PG_TABLES = new Set(['mailbox_leases', 'job_runs', 'cluster_members', 'blobs']); // several daemons: members, leases, once-per-tick jobs; raw mail and attachments every daemon reads (SQLite: files).
const ONLY_PG_COLUMNS = new Set(['messages.search']);
const ONLY_PG_INDEXES = new Set(['messages_search']);

interface Column {
  kind: string;
  notNull: boolean;
  hasDefault: boolean;
}
interface Shape {
  columns: Record<string, Column>;
  primaryKey: string[];
  foreignKeys: string[];
  indexes: Record<string, string>;
}
type Model = Record<string, Shape>;

/** Column kinds from the drizzle schemas (the databases cannot tell json from text in SQLite, or a flag from an integer). */
function declaredKinds(): Record<string, string> {
  const kinds: Record<string, string> = {};
  for (const t of Object.values(sqliteSchema)) {
    if (typeof t !== 'object' || t === null || !('getSQL' in t)) continue;
    const c = sqliteTableConfig(t as SQLiteTable);
    for (const col of c.columns) kinds[`sqlite:${c.name}.${col.name}`] = kindOf(col.columnType, col.getSQLType());
  }
  for (const t of Object.values(pgSchema)) {
    if (typeof t !== 'object' || t === null || !('getSQL' in t)) continue;
    const c = pgTableConfig(t as PgTable);
    for (const col of c.columns) kinds[`pg:${c.name}.${col.name}`] = kindOf(col.columnType, col.getSQLType());
  }
  return kinds;
}

function sqliteModel(dir: string, kinds: Record<string, string>): Model {
  const store = openStore(dir);
  try {
    const db = store.sqlite;
    const model: Model = {};
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> '__drizzle_migrations'").pluck().all() as string[];
    for (const table of tables.filter((t) => !ONLY_SQLITE_TABLES.test(t))) {
      const cols = db.prepare(`pragma table_info("${table}")`).all() as { name: string; type: string; notnull: number; pk: number; dflt_value: string | null }[];
      const shape: Shape = { columns: {}, primaryKey: [], foreignKeys: [], indexes: {} };
      for (const c of cols) {
        // An INTEGER PRIMARY KEY is NOT NULL in effect (it is the rowid).
        shape.columns[c.name] = { kind: kinds[`sqlite:${table}.${c.name}`] ?? `undeclared:${c.type}`, notNull: c.notnull === 1 || c.pk > 0, hasDefault: c.dflt_value !== null };
      }
      shape.primaryKey = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      const fks = db.prepare(`pragma foreign_key_list("${table}")`).all() as { table: string; from: string; to: string }[];
      shape.foreignKeys = fks.map((f) => `${f.from}->${f.table}.${f.to}`).sort();
      const indexes = db.prepare(`pragma index_list("${table}")`).all() as { name: string; unique: number; origin: string }[];
      for (const ix of indexes.filter((i) => i.origin !== 'pk')) {
        const cols = db.prepare(`pragma index_xinfo("${ix.name}")`).all() as { name: string | null; key: number; cid: number }[];
        const keys = cols.filter((c) => c.key === 1).map((c) => (c.cid === -2 ? '(expr)' : c.name));
        shape.indexes[ix.name] = `${ix.unique ? 'unique ' : ''}(${keys.join(', ')})`;
      }
      model[table] = shape;
    }
    return model;
  } finally {
    store.close();
  }
}

async function pgModel(client: Client, kinds: Record<string, string>): Promise<Model> {
  const model: Model = {};
  const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> '__drizzle_migrations'");
  for (const { table_name: table } of tables.rows.filter((r) => !ONLY_PG_TABLES.has(r.table_name))) {
    const shape: Shape = { columns: {}, primaryKey: [], foreignKeys: [], indexes: {} };
    const cols = await client.query<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(
      'select column_name, data_type, is_nullable, column_default, is_identity from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position',
      ['public', table],
    );
    for (const c of cols.rows) {
      if (ONLY_PG_COLUMNS.has(`${table}.${c.column_name}`)) continue;
      // An identity column is SQLite's AUTOINCREMENT: a default in effect, as the rowid is there.
      shape.columns[c.column_name] = { kind: kinds[`pg:${table}.${c.column_name}`] ?? `undeclared:${c.data_type}`, notNull: c.is_nullable === 'NO', hasDefault: c.column_default !== null && c.is_identity !== 'YES' };
    }
    const pk = await client.query<{ attname: string }>(
      `select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
       where i.indrelid = $1::regclass and i.indisprimary order by array_position(i.indkey::int[], a.attnum::int)`,
      [table],
    );
    shape.primaryKey = pk.rows.map((r) => r.attname);
    const fks = await client.query<{ def: string }>("select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = $1::regclass and contype = 'f'", [table]);
    shape.foreignKeys = fks.rows
      .map((r) => {
        const m = /FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)/.exec(r.def);
        return m ? `${m[1]}->${m[2]}.${m[3]}` : r.def;
      })
      .sort();
    const ixs = await client.query<{ name: string; unique: boolean; keys: string[] }>(
      `select c.relname as name, i.indisunique as unique,
              array(select case when k = 0 then '(expr)' else (select attname::text from pg_attribute where attrelid = i.indrelid and attnum = k) end
                    from unnest(i.indkey::int[]) with ordinality as u(k, n) order by n)::text[] as keys
       from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = $1::regclass and not i.indisprimary`,
      [table],
    );
    for (const ix of ixs.rows.filter((r) => !ONLY_PG_INDEXES.has(r.name))) shape.indexes[ix.name] = `${ix.unique ? 'unique ' : ''}(${ix.keys.join(', ')})`;
    model[table] = shape;
  }
  return model;
}

/** Only SQLite's AUTOINCREMENT rowid has no declared default: compare defaults of the other columns. */
function withoutRowidDefaults(model: Model): Model {
  const copy = structuredClone(model);
  for (const shape of Object.values(copy)) for (const key of shape.primaryKey) if (shape.columns[key]?.kind === 'int' && shape.primaryKey.length === 1) shape.columns[key].hasDefault = false;
  return copy;
}

test('the SQLite and PostgreSQL migrations build the same data model', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hd-schema-'));
  const client = new Client({ connectionString: await pg().createDatabase('schema_meaning') });
  await client.connect();
  try {
    const kinds = declaredKinds();
    const lite = sqliteModel(dir, kinds);
    await applyPgMigrations(client);
    const post = await pgModel(client, kinds);
    expect(Object.keys(post).sort()).toEqual(Object.keys(lite).sort());
    expect(withoutRowidDefaults(post)).toEqual(withoutRowidDefaults(lite));
    // Nothing undeclared: every column of the databases is in its drizzle schema.
    expect(JSON.stringify(post)).not.toMatch(/undeclared/);
    // The PostgreSQL-only objects are there.
    const only = await client.query<{ n: string }>("select count(*) as n from information_schema.tables where table_name in ('mailbox_leases', 'job_runs', 'cluster_members')");
    expect(Number(only.rows[0].n)).toBe(3);
  } finally {
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several daemons migrating a fresh PostgreSQL at once: one migrates, the others find it done', async () => {
  const url = await pg().createDatabase('schema_race');
  const clients = [0, 1, 2].map(() => new Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    await Promise.all(clients.map((c) => applyPgMigrations(c)));
    const applied = await clients[0].query<{ n: string }>('select count(*) as n from "__drizzle_migrations"');
    expect(Number(applied.rows[0].n)).toBe(readMigrationFiles({ migrationsFolder: PG_MIGRATIONS }).length);
    const secret = await clients[0].query<{ value: string }>("select value from key_value where key = 'message_id_secret'");
    expect(secret.rows[0].value).toMatch(/^[0-9a-f]{64}$/);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
});

test('a store behind a network that answers nothing (a partition at start) fails to open after the connect timeout instead of hanging', async () => {
  const url = await pg().createDatabase('schema_partition');
  const proxy = await startTcpProxy(Number(new URL(url).port));
  try {
    proxy.freeze();
    const through = url.replace(`:${new URL(url).port}/`, `:${proxy.port}/`);
    const CONNECT_MS = 500;
    const started = Date.now();
    const opening = openPgPool(through, silentLogger(), 1, { lockMs: 30_000, idleInTransactionMs: 60_000, queryMs: 120_000, connectMs: CONNECT_MS });
    const outcome = await Promise.race([
      opening.then(
        async (pool) => (await pool.end(), 'opened'),
        (err: unknown) => err,
      ),
      sleep(8 * CONNECT_MS).then(() => 'hanging'),
    ]);
    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(4 * CONNECT_MS);
  } finally {
    proxy.thaw();
    await proxy.close();
  }
});

test('a daemon starting while another migrates waits for it, however long the migration takes (not lock_timeout)', async () => {
  const url = await pg().createDatabase('schema_long');
  const migrating = new Client({ connectionString: url });
  await migrating.connect();
  try {
    // Another daemon's long migration (migration 0004 rebuilds the search index of every message): its lock, held.
    await migrating.query('BEGIN');
    await migrating.query("SELECT pg_advisory_xact_lock(hashtext('helpdesk:migrate'))");
    // This daemon's connections give up on a lock after 200 ms (store/pg/pool.ts): not on this one.
    const opening = openPgPool(url, silentLogger(), 1, { lockMs: 200, idleInTransactionMs: 60_000, queryMs: 120_000, connectMs: 10_000 });
    const outcome = await Promise.race([opening.then(() => 'opened', (err: Error) => `failed: ${err.message}`), sleep(1500).then(() => 'waiting')]);
    expect(outcome).toBe('waiting');
    await migrating.query('COMMIT');
    const pool = await opening;
    try {
      const applied = await pool.query<{ n: string }>('select count(*) as n from "__drizzle_migrations"');
      expect(Number(applied.rows[0].n)).toBe(readMigrationFiles({ migrationsFolder: PG_MIGRATIONS }).length);
    } finally {
      await pool.end();
    }
  } finally {
    await migrating.end();
  }
});
