import { DrizzleQueryError } from 'drizzle-orm';

/**
 * Whether a PostgreSQL error says the store failed rather than the message: the connection is
 * gone, the server is shutting down or out of disk or memory, a deadlock or serialization
 * failure between two batches, a lock not granted in time. Such a batch is lost as a whole and its messages are offered
 * again; any other error (a value PostgreSQL refuses, a broken constraint) is about the
 * message, which is then quarantined with the reason. `connectionLost`: the client reported
 * an error of its own (its socket closed), after which its queries fail with errors that carry
 * no SQLSTATE.
 */
export function isPgStoreFailure(err: unknown, connectionLost: boolean): boolean {
  if (connectionLost) return true;
  if (isQueryTimeout(err)) return true;
  const code = (driverError(err) as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // A system error of the socket (ECONNRESET, EPIPE, ETIMEDOUT...).
  if (/^E[A-Z]+$/.test(code)) return true;
  // SQLSTATE classes: 08 connection exception, 25 invalid transaction state, 40 transaction
  // rollback (deadlock, serialization), 53 insufficient resources (disk full, out of memory,
  // too many connections), 57 operator intervention (shutdown, cancel), 58 system error (I/O),
  // XX internal error; and 55P03, a lock not granted within lock_timeout (store/pg/pool.ts).
  return code === '55P03' || /^(08|25|40|53|57|58|XX)[0-9A-Z]{3}$/.test(code);
}

/**
 * No answer within the pool's query timeout (store/pg/pool.ts): the network, not the message.
 * The connection's state is unknown after it (the answer may still come): it is not used again.
 */
export function isQueryTimeout(err: unknown): boolean {
  const cause = driverError(err);
  return cause instanceof Error && cause.message === 'Query read timeout';
}

/**
 * The driver's own error inside drizzle's: drizzle's message repeats the query and every
 * parameter (mail text), the driver's says what PostgreSQL refused and carries its SQLSTATE.
 */
export function driverError(err: unknown): unknown {
  return err instanceof DrizzleQueryError && err.cause ? err.cause : err;
}
