import { getTableColumns, is, SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Pool, QueryResultRow } from 'pg';
import type { PgDb } from './reads';

/**
 * The PostgreSQL store's hot queries, built once per connection and run as named statements.
 *
 * drizzle builds a query's SQL anew on every call, and PostgreSQL parses and plans the text it
 * is sent anew too. Profiled in bench:cluster (one daemon, 3,000 messages), building took about
 * a fifth of the daemon's CPU, and the daemon's one thread was the bottleneck (PostgreSQL idled
 * at a third of a core). A prepared query is built once and sent by name: PostgreSQL parses it
 * once per connection as well.
 *
 * Cached per connection, as store/prepared.ts does for SQLite: `drizzle(client)` is made anew
 * for every transaction (store/pg/transaction.ts) while the pool's connections live on, so the
 * cache is keyed by the connection (`$client`: a pooled client, or the pool itself, whose
 * connections each parse a named statement once). The statement's name is `key`: one key, one
 * text, as node-postgres requires.
 */
const caches = new WeakMap<object, Map<string, unknown>>();

/**
 * The connection (or pool) under `db`, the key of what is kept per connection. `$client` is on
 * what drizzle() returns, not on the NodePgDatabase type the store passes around.
 */
export const pgConnectionOf = (db: PgDb) => (db as PgDb & { $client: Pick<Pool, 'query'> }).$client;

export function pgPrepared<T>(db: PgDb, key: string, build: (db: PgDb, name: string) => T): T {
  const client = pgConnectionOf(db);
  let cache = caches.get(client);
  if (!cache) {
    cache = new Map();
    caches.set(client, cache);
  }
  let query = cache.get(key) as T | undefined;
  if (query === undefined) {
    query = build(db, `hd_${key}`);
    cache.set(key, query);
  }
  return query;
}

/**
 * A statement written in SQL ($1, $2… for its values), run by name on `db`'s connection: for
 * what drizzle's builders do not express (a function call without a table, a CTE).
 */
export async function pgRun<R extends QueryResultRow>(db: PgDb, key: string, text: string, values: unknown[]): Promise<R[]> {
  return (await pgConnectionOf(db).query<R>({ name: `hd_${key}`, text, values })).rows;
}

/** `column = any(placeholder)`: a list of any length as one array parameter of a prepared query. */
export const anyOfPlaceholder = (column: PgColumn, name: string): SQL => sql`${column} = any(${sql.placeholder(name)}::text[])`;

/**
 * A prepared insert of whole rows of `table` (every column a placeholder but the identity `id`,
 * unless `withId`); a value the row leaves out gets the column's default, else null. Only for
 * tables whose defaults are plain values (an SQL default could not be sent as a parameter).
 */
export function pgInsertRows(db: PgDb, key: string, table: PgTable, options: { returningId: boolean; withId?: boolean }) {
  const { query, columns } = pgPrepared(db, `insert_${key}`, (d, name) => {
    const columns = Object.entries(getTableColumns(table)).filter(([column]) => options.withId || column !== 'id');
    for (const [column, c] of columns) if (is(c.default, SQL)) throw new Error(`pgInsertRows: ${key}.${column} has an SQL default`);
    const values = Object.fromEntries(columns.map(([column]) => [column, sql.placeholder(column)]));
    // drizzle's insert types cannot follow a table chosen at run time; the row shape is checked by the callers.
    const insert = d.insert(table).values(values as never);
    return { query: options.returningId ? insert.returning({ id: (table as unknown as { id: PgColumn }).id }).prepare(name) : insert.prepare(name), columns };
  });
  const fill = (row: Record<string, unknown>) => Object.fromEntries(columns.map(([name, column]) => [name, row[name] !== undefined ? row[name] : (column.default ?? null)]));
  return {
    run: async (row: Record<string, unknown>): Promise<void> => void (await query.execute(fill(row))),
    id: async (row: Record<string, unknown>): Promise<number> => ((await query.execute(fill(row))) as Array<{ id: number }>)[0].id,
  };
}
