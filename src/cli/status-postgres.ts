import { drizzle } from 'drizzle-orm/node-postgres';
import { listLeases } from '../cluster/leases';
import { errorMessage } from '../lib/errors';
import type { MailboxStateRow } from '../store/mailbox-state';
import { pgClient } from '../store/pg/client';
import { pgMailboxState } from '../store/pg/mailbox-state';
import * as schema from '../store/pg/schema';
import { withoutPassword } from '../store/pg/url';
import { CliExit, EXIT } from './exit-codes';

/**
 * `helpdesk status` of a desk on PostgreSQL: each mailbox's state, and which daemon holds its
 * lease since when (the database's clock). An unreachable database is a temporary failure.
 */
export async function clusterStatus(url: string): Promise<{ rows: MailboxStateRow[]; leases: Map<string, { holder: string; ageMs: number; expired: boolean }> }> {
  const client = pgClient(url);
  try {
    await client.connect();
  } catch (err) {
    throw new CliExit(EXIT.TEMPFAIL, `cannot connect to ${withoutPassword(url)}: ${errorMessage(err)}`);
  }
  try {
    const rows = await pgMailboxState(drizzle(client, { schema })).list();
    const leases = new Map((await listLeases(client)).map((l) => [l.mailbox, { holder: l.holder, ageMs: l.now - l.acquiredAt, expired: l.expiresAt <= l.now }]));
    return { rows, leases };
  } finally {
    await client.end();
  }
}
