import type { Config } from '../config/schema';
import { blobPath } from '../store/blobs';
import { keepBlobs } from '../store/pg/blobs';
import type { PgDb } from '../store/pg/reads';
import { pgWrites } from '../store/pg/writes';
import { runPlanAsync } from '../store/writes';
import { applyPlan, keepAttachments } from './apply';
import type { Draft, IngestResult } from './types';

/**
 * apply on the PostgreSQL store (docs/CLUSTER.md): the attachment bodies into `blobs`, then
 * the same plan as SQLite's, run on `db`, all in the transaction the caller opened but new
 * contacts, which go where `options.contactsOn` says (store/pg/writes.ts).
 * pipeline-writes.test.ts holds it to SQLite's rows.
 */
export async function applyOnPostgres(draft: Draft, db: PgDb, config: Config, options: { contactsOn?: PgDb } = {}): Promise<IngestResult> {
  const bodies = new Map<string, { path: string; sha256: string; content: Buffer }>();
  const files = keepAttachments(draft, config, (a) => {
    const path = blobPath('attachments', a.sha256);
    bodies.set(path, { path, sha256: a.sha256, content: a.content });
    return path;
  });
  await keepBlobs(db, [...bodies.values()]);
  return runPlanAsync(applyPlan(draft, config, files), pgWrites(db, options));
}
