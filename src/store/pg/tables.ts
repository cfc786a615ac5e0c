import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import * as pg from './schema';

/** What a column holds, whatever each dialect calls its type. */
export type Kind = 'int' | 'float' | 'text' | 'json' | 'bool';

/** A drizzle column's kind, from its drizzle type (SQLite's or PostgreSQL's) and SQL type. */
export function kindOf(columnType: string, sqlType: string): Kind | `other:${string}` {
  if (/Boolean/.test(columnType)) return 'bool';
  if (/Json/.test(columnType)) return 'json';
  if (/^(integer|bigint)$/.test(sqlType)) return 'int';
  if (/^(real|double precision)$/.test(sqlType)) return 'float';
  if (sqlType === 'text') return 'text';
  return `other:${sqlType}`;
}

export interface DeskTable {
  name: string;
  columns: { name: string; kind: Kind }[];
  primaryKey: string[];
  /** Has an identity `id` whose sequence must continue after copied ids. */
  identity: boolean;
}

/**
 * The tables of a desk (both dialects have them; the cluster's own tables are PostgreSQL's
 * alone), parents before children, so rows can be copied in this order under foreign keys.
 */
const DESK_TABLES = [pg.contacts, pg.tickets, pg.participants, pg.messages, pg.messageIds, pg.attachments, pg.events, pg.outbox, pg.suppressions, pg.inbound, pg.mailboxState, pg.spamTokens, pg.spamLearned, pg.keyValue];

export function deskTables(): DeskTable[] {
  return DESK_TABLES.map((t: PgTable) => {
    const c = getTableConfig(t);
    const columns = c.columns.map((col) => {
      const kind = kindOf(col.columnType, col.getSQLType());
      if (kind.startsWith('other:')) throw new Error(`${c.name}.${col.name}: no kind for ${col.getSQLType()}`);
      return { name: col.name, kind: kind as Kind };
    });
    const primaryKey = c.primaryKeys[0]?.columns.map((col) => col.name) ?? c.columns.filter((col) => col.primary).map((col) => col.name);
    return { name: c.name, columns, primaryKey, identity: c.columns.some((col) => col.name === 'id' && col.generatedIdentity !== undefined) };
  });
}
