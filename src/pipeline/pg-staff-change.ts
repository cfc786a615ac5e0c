import { sql } from 'drizzle-orm';
import type { Pool } from 'pg';
import type { Config } from '../config/schema';
import { inPgTransaction } from '../store/pg/transaction';
import { pgWrites } from '../store/pg/writes';
import { runPlanAsync } from '../store/writes';
import type { FieldChange } from './changes';
import { pgStoreReader } from './pg-store-reader';
import { staffChange, type StaffChangeResult } from './staff-change';

/**
 * staffChange on PostgreSQL, in one transaction. The ticket's row is locked first, so a
 * daemon's batch writing to the same ticket meanwhile waits (or this waits for it), as
 * SQLite's write lock orders them.
 */
export function pgApplyStaffChange(pool: Pool, config: Config, ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null): Promise<StaffChangeResult> {
  return inPgTransaction(pool, async (db) => {
    await db.execute(sql`select id from tickets where id = ${ticket.id} for update`);
    return staffChange(pgStoreReader(db, config), (plan) => runPlanAsync(plan, pgWrites(db)), config, ticket, change, actor, at, reason);
  });
}
