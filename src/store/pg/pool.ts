import { Pool } from 'pg';
import { StoreUnavailableError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { pgClient } from './client';
import { applyPgMigrations } from './migrate';
import { withoutPassword } from './url';

/**
 * How long a statement waits for a lock, and how long a transaction may sit idle, before
 * PostgreSQL gives up on it. A daemon frozen mid-batch (a GC pause, a suspended VM) keeps its
 * transaction and its locks open; without these, another daemon's batch waiting for one of
 * those locks (the same mail in two mailboxes) would wait for as long as the frozen one sleeps.
 */
export interface PgTimeouts {
  /** A batch waiting longer for a lock fails and its mail is offered again. */
  lockMs: number;
  /** A transaction idle longer is ended by the server, its locks released. */
  idleInTransactionMs: number;
  /**
   * A statement whose answer takes longer fails here: the server's own timeouts cannot help
   * when the network between holds every packet (a partition), and a batch would wait on its
   * statement for as long.
   */
  queryMs: number;
  /** Opening a connection that takes longer fails (a partition: the handshake never answered). */
  connectMs: number;
}

/**
 * The timeouts for a desk: an idle batch is normally a message being parsed (at most
 * limits.processingTime) or a source waiting for the next message (the batch's 250 ms).
 */
export function pgTimeouts(processingTimeMs: number, options: { queryMs?: number } = {}): PgTimeouts {
  // The daemon's longest statements (a message of limits.maxMessageSize into blobs, a lock
  // waited for until lockMs) take seconds: two minutes is a stalled network, not work.
  return { lockMs: 30_000, idleInTransactionMs: processingTimeMs + 60_000, queryMs: options.queryMs ?? 120_000, connectMs: 10_000 };
}

/**
 * A pool on the desk's PostgreSQL, its migrations applied (several processes starting at once:
 * one migrates, the others wait). An idle connection that fails is logged and replaced, never
 * an unhandled error. Unreachable: StoreUnavailableError (a temporary failure), the password
 * never in the message. Whoever opens it ends it.
 */
export async function openPgPool(url: string, log: Logger, max: number, timeouts: PgTimeouts): Promise<Pool> {
  const settings = { connectionString: url, lock_timeout: timeouts.lockMs, idle_in_transaction_session_timeout: timeouts.idleInTransactionMs, connectionTimeoutMillis: timeouts.connectMs, keepAlive: true };
  const pool = new Pool({ ...settings, max, query_timeout: timeouts.queryMs });
  pool.on('error', (err) => log.warn({ err: errorMessage(err) }, 'an idle PostgreSQL connection failed; the pool opens another when needed'));
  // Migrated on a connection of its own, without the pool's query timeout: a migration may
  // rebuild a large table for minutes (0004), and a daemon waits for another's.
  const migrating = pgClient(settings);
  try {
    await migrating.connect();
    await applyPgMigrations(migrating);
    return pool;
  } catch (err) {
    await pool.end();
    throw new StoreUnavailableError(`cannot open the store at ${withoutPassword(url)}: ${errorMessage(err)}`, err);
  } finally {
    await migrating.end().catch(() => undefined);
  }
}

