import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import { packageRoot } from '../lib/package-root';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema>;

/** The open store: the SQLite database plus the folders for raw mail and attachments. */
export interface Store {
  db: Db;
  sqlite: Database.Database;
  dataDir: string;
  close(): void;
}

const MIGRATIONS = path.join(packageRoot(), 'src', 'store', 'migrations');

/**
 * Opens (creating when needed) `<dataDir>/helpdesk.sqlite` and applies pending migrations.
 * WAL lets readers (`helpdesk status`, reports) run beside the daemon; synchronous=FULL
 * makes a commit durable before the source acknowledges the message (no mail lost on power
 * failure); busy_timeout lets `helpdesk ingest` and the daemon share the file.
 */
export function openStore(dataDir: string): Store {
  try {
    mkdirSync(dataDir, { recursive: true });
    const sqlite = new Database(path.join(dataDir, 'helpdesk.sqlite'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    cacheStatements(sqlite);
    const db = drizzle(sqlite, { schema });
    migrate(db, { migrationsFolder: MIGRATIONS });
    return { db, sqlite, dataDir, close: () => sqlite.close() };
  } catch (err) {
    throw new StoreUnavailableError(`cannot open the store in ${dataDir}: ${errorMessage(err)}`, err);
  }
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * drizzle prepares a new better-sqlite3 statement for every query it runs; preparing costs
 * more than running our small indexed queries. Reuse statements by SQL text. drizzle switches
 * a statement to raw mode (stmt.raw()) right before it needs rows as arrays, but never back,
 * so a cached reader is reset to object mode each time it is handed out.
 */
function cacheStatements(sqlite: Database.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, Database.Statement>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
      if (stmt.reader) stmt.raw(false);
    } else {
      stmt = prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof sqlite.prepare;
}
