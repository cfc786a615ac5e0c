import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool, PoolClient } from 'pg';
import { StoreUnavailableError, errorMessage } from '../../lib/errors';
import { driverError, isQueryTimeout } from './failures';
import type { PgDb } from './reads';
import * as schema from './schema';

/**
 * How many connections a transaction tries before it gives up: after PostgreSQL restarted (or
 * an administrator ended every connection), the pool's idle connections are gone, but the pool
 * learns it only when their sockets' news arrives and may hand one out first. The first
 * attempt takes a round trip, by which the others' news has arrived and the pool dropped them.
 */
const BEGIN_ATTEMPTS = 3;

/**
 * A connection of `pool` in a transaction (BEGIN succeeded); a dead one is destroyed and
 * another tried (BEGIN_ATTEMPTS). `onError` listens to the connection from then on: a
 * connection the pool handed out has no listener of the pool's, and an error it reports while
 * no statement runs (the server ended it while the outbox sends a mail) would otherwise be an
 * uncaught error that ends the process. The caller gives it back with releaseConnection.
 * Unreachable, or no connection took BEGIN: StoreUnavailableError.
 */
export async function beginOn(pool: Pool, onError: (err: Error) => void): Promise<PoolClient> {
  for (let attempt = 1; ; attempt++) {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreUnavailableError(`cannot reach PostgreSQL: ${errorMessage(driverError(err))}`, driverError(err));
    }
    // A socket error while BEGIN runs fails BEGIN too: nothing more to do with it (the listener
    // stays on a destroyed connection, whatever it still reports).
    const ignore = () => undefined;
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
    } catch (err) {
      client.release(true);
      if (attempt >= BEGIN_ATTEMPTS) throw new StoreUnavailableError(`cannot begin a transaction: ${errorMessage(driverError(err))}`, driverError(err));
      continue;
    }
    client.removeListener('error', ignore);
    client.on('error', onError);
    return client;
  }
}

/**
 * Gives back a connection beginOn handed out, `onError` removed; `destroy` when its state is
 * unknown (it failed, or a statement on it was never answered). A destroyed connection may
 * still report its socket's end (ECONNRESET): it keeps a listener that ignores it.
 */
export function releaseConnection(client: PoolClient, onError: (err: Error) => void, destroy: boolean): void {
  client.removeListener('error', onError);
  if (destroy) client.on('error', () => undefined);
  client.release(destroy);
}

/**
 * Runs `fn` in one transaction on a connection of its own from `pool` (beginOn): COMMIT when
 * it resolves, ROLLBACK when it throws (the error goes on to the caller). A COMMIT that
 * PostgreSQL answers with ROLLBACK (the transaction was aborted by an error `fn` caught) is an
 * error, not a success. The connection goes back to the pool only when it is known clean;
 * one that failed mid-transaction, or left a statement unanswered (the pool's query timeout:
 * a ROLLBACK would only queue behind it), is closed.
 */
export async function inPgTransaction<T>(pool: Pool, fn: (db: PgDb) => Promise<T>): Promise<T> {
  // The connection's own error fails its next statement: nothing more to do with it here.
  const failed = () => undefined;
  const client = await beginOn(pool, failed);
  let clean = false;
  try {
    let result: T;
    try {
      result = await fn(drizzle(client, { schema }));
    } catch (err) {
      if (!isQueryTimeout(err)) {
        clean = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
      }
      throw err;
    }
    const done = await client.query('COMMIT');
    if (done.command !== 'COMMIT') throw new Error(`PostgreSQL rolled the transaction back (${done.command})`);
    clean = true;
    return result;
  } finally {
    releaseConnection(client, failed, !clean);
  }
}
