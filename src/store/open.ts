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
  /**
   * Makes every transaction this connection has committed durable on disk (one fsync of the
   * WAL; nothing to do when nothing was committed since the last call). Sources call it
   * before they acknowledge mail; must not be called inside a transaction.
   */
  durable(): void;
  /** durable(), then closes the connection. */
  close(): void;
}

const MIGRATIONS = path.join(packageRoot(), 'src', 'store', 'migrations');

/**
 * Opens (creating when needed) `<dataDir>/helpdesk.sqlite` and applies pending migrations.
 * WAL lets readers (`helpdesk status`, reports) run beside the daemon; busy_timeout lets
 * `helpdesk ingest` and the daemon share the file.
 *
 * Durability is group-committed: transactions commit with synchronous=NORMAL (in WAL mode
 * that survives a crash of the process, but an OS crash or power cut may roll back the last
 * few commits), and `durable()` is the barrier that makes them all survive a power cut too:
 * one commit under synchronous=FULL, whose fsync of the WAL covers every frame before it.
 * A source acknowledges mail only after that barrier, so no mail is lost on power failure,
 * and a backlog pays one fsync per batch instead of one per message (a quarter of the time
 * of bench:ingest on these machines). Every transaction is still one message, all or nothing.
 */
export function openStore(dataDir: string): Store {
  try {
    mkdirSync(dataDir, { recursive: true });
    const sqlite = new Database(path.join(dataDir, 'helpdesk.sqlite'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    cacheStatements(sqlite);
    const db = drizzle(sqlite, { schema });
    migrate(db, { migrationsFolder: MIGRATIONS });
    const durable = durabilityBarrier(sqlite);
    durable();
    return {
      db,
      sqlite,
      dataDir,
      durable,
      close: () => {
        try {
          durable();
        } finally {
          sqlite.close();
        }
      },
    };
  } catch (err) {
    throw new StoreUnavailableError(`cannot open the store in ${dataDir}: ${errorMessage(err)}`, err);
  }
}

function durabilityBarrier(sqlite: Database.Database): () => void {
  // total_changes() counts every row this connection changed, committed or rolled back;
  // unchanged since the last barrier means nothing new can be waiting for the disk.
  const changes = sqlite.prepare('select total_changes()').pluck();
  const mark = sqlite.prepare("insert into key_value (key, value) values ('store:durable-at', ?) on conflict (key) do update set value = excluded.value");
  let synced = -1;
  return () => {
    if (!sqlite.open || changes.get() === synced) return;
    if (sqlite.inTransaction) throw new Error('store.durable() called inside a transaction');
    sqlite.pragma('synchronous = FULL');
    try {
      mark.run(new Date().toISOString());
    } finally {
      sqlite.pragma('synchronous = NORMAL');
    }
    synced = changes.get() as number;
  };
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
