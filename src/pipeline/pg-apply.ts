import type { Config } from '../config/schema';
import type { PgDb } from '../store/pg/reads';
import { pgWrites } from '../store/pg/writes';
import { runPlanAsync } from '../store/writes';
import { applyPlan, type KeptFiles } from './apply';
import type { Draft, IngestResult } from './types';

/**
 * apply on the PostgreSQL store (docs/CLUSTER.md): the same plan, run on `db`, in the
 * transaction the caller opened. Not used by the daemon yet; pipeline-writes.test.ts holds it
 * to SQLite's rows.
 */
export function applyOnPostgres(draft: Draft, db: PgDb, config: Config, files: KeptFiles): Promise<IngestResult> {
  return runPlanAsync(applyPlan(draft, config, files), pgWrites(db));
}
