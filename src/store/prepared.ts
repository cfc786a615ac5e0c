import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Db } from './open';

/**
 * drizzle builds a query's SQL on every call (about 70 µs each here); a prepared query runs
 * in about 3 µs, and ingesting one message runs some thirty. The hot queries are prepared
 * once per connection: drizzle's transaction objects share their database's session (its
 * connection wrapper), so one prepared query serves the database and every transaction.
 */
const caches = new WeakMap<object, Map<string, unknown>>();

export function prepared<T>(db: Db, key: string, build: (db: Db) => T): T {
  // `session` is internal to drizzle (not in its types); tests cover that it is shared.
  const session = (db as unknown as { session: object }).session;
  let cache = caches.get(session);
  if (!cache) {
    cache = new Map();
    caches.set(session, cache);
  }
  let query = cache.get(key) as T | undefined;
  if (query === undefined) {
    query = build(db);
    cache.set(key, query);
  }
  return query;
}

/**
 * `column IN` the JSON array given as placeholder `name`: one prepared statement serves any
 * number of values (a References header can hold hundreds), where inArray() would need new
 * SQL for every count. The column's index is still used.
 */
export function inJsonList(column: SQLiteColumn, name: string): SQL {
  return sql`${column} in (select value from json_each(${sql.placeholder(name)}))`;
}

type AnyTable = Parameters<typeof getTableColumns>[0];

/**
 * A prepared insert of whole rows of `table`: every column but the generated `id` is a
 * placeholder; a value the row leaves out gets the column's default, else null.
 */
export function insertRows(db: Db, key: string, table: AnyTable, returningId: boolean) {
  const columns = Object.entries(getTableColumns(table)).filter(([name]) => name !== 'id');
  const query = prepared(db, `insert:${key}`, (d) => {
    const values = Object.fromEntries(columns.map(([name]) => [name, sql.placeholder(name)]));
    // drizzle's insert types cannot follow a table chosen at run time; the row shape is checked by the callers.
    const insert = d.insert(table as never).values(values as never);
    return returningId ? insert.returning({ id: (table as unknown as { id: SQLiteColumn }).id }).prepare() : insert.prepare();
  });
  const fill = (row: Record<string, unknown>) => Object.fromEntries(columns.map(([name, column]) => [name, row[name] !== undefined ? row[name] : (column.default ?? null)]));
  return {
    run: (row: Record<string, unknown>) => void query.run(fill(row)),
    id: (row: Record<string, unknown>) => (query.get(fill(row)) as { id: number }).id,
  };
}
