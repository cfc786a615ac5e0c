import { Pool } from 'pg';
import { StoreUnavailableError, errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { applyPgMigrations } from './migrate';
import { withoutPassword } from './url';

/**
 * A pool on the desk's PostgreSQL, its migrations applied (several processes starting at once:
 * one migrates, the others wait). An idle connection that fails is logged and replaced, never
 * an unhandled error. Unreachable: StoreUnavailableError (a temporary failure), the password
 * never in the message. Whoever opens it ends it.
 */
export async function openPgPool(url: string, log: Logger, max: number): Promise<Pool> {
  const pool = new Pool({ connectionString: url, max });
  pool.on('error', (err) => log.warn({ err: errorMessage(err) }, 'an idle PostgreSQL connection failed; the pool opens another when needed'));
  try {
    const client = await pool.connect();
    try {
      await applyPgMigrations(client);
    } finally {
      client.release();
    }
    return pool;
  } catch (err) {
    await pool.end();
    throw new StoreUnavailableError(`cannot open the store at ${withoutPassword(url)}: ${errorMessage(err)}`, err);
  }
}
