import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool } from 'pg';
import type { PgDb } from './reads';
import * as schema from './schema';

/**
 * Runs `fn` in one transaction on a connection of its own from `pool`: COMMIT when it
 * resolves, ROLLBACK when it throws (the error goes on to the caller). A COMMIT that
 * PostgreSQL answers with ROLLBACK (the transaction was aborted by an error `fn` caught) is an
 * error, not a success. The connection goes back to the pool only when it is known clean;
 * one that failed mid-transaction is closed.
 */
export async function inPgTransaction<T>(pool: Pool, fn: (db: PgDb) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let clean = false;
  try {
    await client.query('BEGIN');
    let result: T;
    try {
      result = await fn(drizzle(client, { schema }));
    } catch (err) {
      clean = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      throw err;
    }
    const done = await client.query('COMMIT');
    if (done.command !== 'COMMIT') throw new Error(`PostgreSQL rolled the transaction back (${done.command})`);
    clean = true;
    return result;
  } finally {
    client.release(!clean);
  }
}
