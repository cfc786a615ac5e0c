import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { HelpdeskError } from '../../lib/errors';
import type { Store } from '../open';
import { pgClient } from './client';
import { applyPgMigrations } from './migrate';
import { deskTables, type DeskTable, type Kind } from './tables';
import { withoutPassword } from './url';

/** What `helpdesk migrate-store` copied, table by table, and how it was checked. */
export interface CopyReport {
  tables: { name: string; rows: number; sha256: string }[];
  blobs: { files: number; bytes: number };
}

/** Rows read from SQLite and written to PostgreSQL at a time (a few MB of messages at most). */
const CHUNK = 500;
/** Tables whose rows say a desk is in use: the target must have none. */
const IN_USE = ['contacts', 'tickets', 'messages', 'inbound', 'outbox', 'spam_learned', 'blobs'];
const BLOB_KINDS = ['raw', 'attachments'];

/**
 * Copies a SQLite desk into an empty PostgreSQL database (issue #25): every row of every
 * table with its id (identity sequences continue after them), the Message-ID secret (so
 * replies to mail we sent still thread), the mailbox checkpoints (so no mail is taken twice),
 * the spam model, and the raw mail and attachment files into the `blobs` table. Everything is
 * one PostgreSQL transaction: a failure leaves the target as it was.
 *
 * Checked before the commit: per table, the count and a SHA-256 over every row in primary-key
 * order, each value in one canonical form (JSON re-serialised with sorted keys, flags as
 * booleans, numbers as numbers), read back from PostgreSQL and compared with SQLite's; per
 * blob, PostgreSQL's own sha256() of the stored bytes against the name the file is stored by.
 */
export async function copyToPostgres(store: Store, url: string, progress: (line: string) => void = () => undefined): Promise<CopyReport> {
  const client = pgClient(url);
  try {
    await client.connect();
  } catch (err) {
    throw new HelpdeskError('PG_UNREACHABLE', `cannot connect to ${withoutPassword(url)}: ${(err as Error).message}`);
  }
  try {
    await applyPgMigrations(client);
    await client.query('BEGIN');
    try {
      for (const table of IN_USE) {
        const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
        if (Number(r.rows[0].n) > 0) throw new HelpdeskError('PG_NOT_EMPTY', `${withoutPassword(url)} already holds a desk (${table} has ${r.rows[0].n} rows): migrate-store copies into an empty database only`);
      }
      // The migration generated a Message-ID secret; the desk's own replaces it.
      await client.query('DELETE FROM key_value');
      const report: CopyReport = { tables: [], blobs: { files: 0, bytes: 0 } };
      // One read transaction: every table from the same moment of the SQLite file.
      store.sqlite.exec('BEGIN');
      try {
        for (const table of deskTables()) {
          const rows = await copyTable(store, client, table);
          const [ours, theirs] = [digestOf(sqliteRowLines(store, table)), digestOf(await pgRowLines(client, table))];
          if (ours !== theirs) throw new HelpdeskError('COPY_MISMATCH', `${table.name}: the rows read back from PostgreSQL differ from SQLite's (sha256 ${theirs.slice(0, 12)} vs ${ours.slice(0, 12)})`);
          if (table.identity) await client.query(`SELECT setval(pg_get_serial_sequence('${table.name}', 'id'), coalesce(max(id), 0) + 1, false) FROM ${table.name}`);
          report.tables.push({ name: table.name, rows, sha256: ours });
          progress(`${table.name}: ${rows} rows, sha256 ${ours.slice(0, 12)} in both`);
        }
      } finally {
        store.sqlite.exec('COMMIT');
      }
      report.blobs = await copyBlobs(store.dataDir, client);
      progress(`raw mail and attachments: ${report.blobs.files} files, ${report.blobs.bytes} bytes, each checked by its sha256`);
      await client.query('COMMIT');
      return report;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function copyTable(store: Store, client: Client, table: DeskTable): Promise<number> {
  const names = table.columns.map((c) => `"${c.name}"`).join(', ');
  const read = store.sqlite.prepare(`SELECT rowid AS "__rowid", ${names} FROM "${table.name}" WHERE rowid > ? ORDER BY rowid LIMIT ${CHUNK}`);
  let after = 0;
  let copied = 0;
  for (;;) {
    const rows = read.all(after) as Record<string, unknown>[];
    if (rows.length === 0) return copied;
    after = rows[rows.length - 1].__rowid as number;
    const params: unknown[] = [];
    const tuples = rows.map((row) => `(${table.columns.map((c) => `$${params.push(toPg(row[c.name], c.kind))}`).join(', ')})`);
    await client.query(`INSERT INTO "${table.name}" (${names}) VALUES ${tuples.join(', ')}`, params);
    copied += rows.length;
  }
}

/** A SQLite value as PostgreSQL's column takes it: 0/1 flags as booleans; JSON text as it is (the jsonb column parses it). */
function toPg(value: unknown, kind: Kind): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'bool') return value === 1 || value === true;
  return value;
}

/** One value in the form both sides are hashed in. */
function canonical(value: unknown, kind: Kind): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'bool':
      return value === true || value === 1;
    case 'int':
    case 'float':
      return Number(value);
    case 'json':
      return sortedJson(typeof value === 'string' ? (JSON.parse(value) as unknown) : value);
    case 'text':
      return String(value);
  }
}

/** JSON with object keys sorted: jsonb keeps its own key order, SQLite's text the writer's. */
function sortedJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedJson);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortedJson((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** A table's rows as lines of canonical JSON (one per row), the form both stores are compared in. */
function* lines(rows: Iterable<Record<string, unknown>>, table: DeskTable): Generator<string> {
  for (const row of rows) yield JSON.stringify(table.columns.map((c) => canonical(row[c.name], c.kind)));
}

function digestOf(rows: Iterable<string>): string {
  const h = createHash('sha256');
  for (const line of rows) h.update(`${line}\n`);
  return h.digest('hex');
}

/** Primary-key order, the same in both: SQLite compares text by bytes, PostgreSQL does under COLLATE "C". */
const orderBy = (table: DeskTable, pg: boolean) =>
  table.primaryKey.map((k) => (pg && table.columns.find((c) => c.name === k)?.kind === 'text' ? `"${k}" COLLATE "C"` : `"${k}"`)).join(', ');

/** A SQLite table's rows, canonical, in primary-key order. */
export function sqliteRowLines(store: Store, table: DeskTable): Iterable<string> {
  const names = table.columns.map((c) => `"${c.name}"`).join(', ');
  return lines(store.sqlite.prepare(`SELECT ${names} FROM "${table.name}" ORDER BY ${orderBy(table, false)}`).iterate() as Iterable<Record<string, unknown>>, table);
}

/** A PostgreSQL table's rows, canonical, in primary-key order. */
export async function pgRowLines(client: Pick<Client, 'query'>, table: DeskTable): Promise<string[]> {
  const names = table.columns.map((c) => `"${c.name}"`).join(', ');
  const r = await client.query<Record<string, unknown>>(`SELECT ${names} FROM "${table.name}" ORDER BY ${orderBy(table, true)}`);
  return [...lines(r.rows, table)];
}

/** Every raw mail and attachment file (content-addressed: named by its sha256) into `blobs`, then checked by PostgreSQL's sha256(). */
async function copyBlobs(dataDir: string, client: Client): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const kind of BLOB_KINDS) {
    const root = path.join(dataDir, kind);
    if (!existsSync(root)) continue;
    for (const fan of readdirSync(root).filter((d) => /^[0-9a-f]{2}$/.test(d))) {
      for (const name of readdirSync(path.join(root, fan))) {
        const sha256 = /^([0-9a-f]{64})(\.eml)?$/.exec(name)?.[1];
        if (!sha256) continue; // a temp file of a write that never finished
        const content = readFileSync(path.join(root, fan, name));
        await client.query('INSERT INTO blobs (path, sha256, size, content) VALUES ($1, $2, $3, $4)', [path.posix.join(kind, fan, name), sha256, content.length, content]);
        files++;
        bytes += content.length;
      }
    }
  }
  const bad = await client.query<{ path: string }>("SELECT path FROM blobs WHERE encode(sha256(content), 'hex') <> sha256 LIMIT 5");
  if (bad.rows.length > 0) throw new HelpdeskError('COPY_MISMATCH', `stored bytes do not match their sha256: ${bad.rows.map((r) => r.path).join(', ')} (a damaged file in the data folder?)`);
  return { files, bytes };
}

