import { eq, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { blobPath } from '../blobs';
import { pgPrepared } from './prepared';
import type { PgDb } from './reads';
import * as s from './schema';

/**
 * Raw mail and attachment bodies on the PostgreSQL store, in the `blobs` table, where every
 * daemon of a cluster reads them (the SQLite store keeps files: store/blobs.ts). Keyed by the
 * path store/blobs.ts's blobPath gives, so the rows that name a blob read the same in both.
 * Written in the transaction of the rows that name them: no row names a blob that is not there.
 */
export async function keepBlobs(db: PgDb, blobs: Array<{ path: string; sha256: string; content: Buffer }>): Promise<void> {
  // One prepared insert (store/pg/prepared.ts) per blob: most mail has one (its raw bytes) or a
  // few, and a statement never carries more than one body, however many a message has.
  const keep = pgPrepared(db, 'keep_blob', (d, name) =>
    d
      .insert(s.blobs)
      .values({ path: sql.placeholder('path'), sha256: sql.placeholder('sha256'), size: sql.placeholder('size'), content: sql.placeholder('content') })
      // Content-addressed: a path already kept holds the same bytes.
      .onConflictDoNothing()
      .prepare(name),
  );
  for (const b of blobs) await keep.execute({ path: b.path, sha256: b.sha256, size: b.content.length, content: b.content });
}

/** The bytes kept under `path`, or null. */
export async function readBlob(db: PgDb, path: string): Promise<Buffer | null> {
  const rows = await db.select({ content: s.blobs.content }).from(s.blobs).where(eq(s.blobs.path, path));
  return rows[0]?.content ?? null;
}

/** Bytes per statement when a message too big for memory is copied in. */
const CHUNK = 8 << 20;

/**
 * A raw message too big to be read into memory (over limits.maxMessageSize), copied from
 * `file` into `blobs` a chunk at a time: hashed in a first pass (the path is its sha256),
 * appended in a second, and checked against its sha256 by PostgreSQL at the end.
 */
export async function keepRawFile(db: PgDb, file: string | Buffer): Promise<{ sha256: string; path: string }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  const path = blobPath('raw', sha256);
  const created = await db.insert(s.blobs).values({ path, sha256, size: 0, content: Buffer.alloc(0) }).onConflictDoNothing().returning({ path: s.blobs.path });
  if (created.length === 0) return { sha256, path };
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    const bytes = chunk as Buffer;
    await db
      .update(s.blobs)
      .set({ content: sql`${s.blobs.content} || ${bytes}::bytea`, size: sql`${s.blobs.size} + ${bytes.length}` })
      .where(eq(s.blobs.path, path));
  }
  const check = await db.execute<{ same: boolean }>(sql`select encode(sha256(content), 'hex') = ${sha256} as same from blobs where path = ${path}`);
  if (!check.rows[0]?.same) throw new Error(`${file} changed while it was copied into the store`);
  return { sha256, path };
}
