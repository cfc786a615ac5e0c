import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import { blobFiles, type Blobs } from './blobs';
import { packageRoot } from '../lib/package-root';
import { groupCommit, type Batch } from './group-commit';
import { writeTurn } from './write-turn';
import { letOthersIn } from './write-wish';
import { applyMigrations } from './migrate';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema>;

/** The open store: the SQLite database plus the folders for raw mail and attachments. */
export interface Store {
  db: Db;
  sqlite: Database.Database;
  dataDir: string;
  /** The raw messages and attachment bodies under dataDir (blobs.ts). */
  blobs: Blobs;
  /**
   * Opens a batch: the following transactions nest in it as savepoints until its owner commits
   * it (group-commit.ts). Only the intake opens batches, inside its write turn.
   */
  openBatch(): Batch;
  /**
   * Waits until every blob file saved so far is on disk, then makes every transaction this
   * connection has committed durable on disk (one fsync of the WAL; nothing to do when nothing
   * changed since the last call). Rejects when a file could not be made durable or a batch is
   * open. Must not be called inside a transaction.
   */
  durable(): Promise<void>;
  /**
   * Runs `fn` in the store's write turn (write-turn.ts): every writer in the daemon writes
   * inside one, so no writer's rows land in another's batch.
   */
  turn<T>(fn: () => T | Promise<T>): Promise<T>;
  /**
   * A second, read-only connection, opened on first use: it sees what was committed, never an
   * open batch. The outbox worker's full-text lookups (suggestions in notices) run there.
   */
  reader(): Database.Database;
  /** durable() (blocking), then closes the connections. */
  close(): void;
}

export const MIGRATIONS = path.join(packageRoot(), 'src', 'store', 'migrations');
/** How long a statement waits for another process's lock (the daemon's batches last about 250 ms). */
const BUSY_TIMEOUT_MS = 5000;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/**
 * Switches a new database to WAL (a no-op when it already is). Two processes opening a fresh
 * store at once both try the switch, and SQLite answers the loser SQLITE_BUSY at once, without
 * waiting for the busy timeout: try again for as long as the busy timeout would have waited.
 */
function enableWal(sqlite: Database.Database): void {
  const until = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() > until) throw err;
      Atomics.wait(SLEEP, 0, 0, 10);
    }
  }
}

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
 * of bench:ingest on these machines). The intake also groups its messages' transactions into
 * one batch transaction (openBatch, group-commit.ts).
 */
export interface StoreOptions {
  /**
   * Before each write turn, while another process has announced that it wants to write
   * (store/write-wish.ts), wait up to this long for it; 0 (default): never. The daemon sets it,
   * so an MTA's pipe into `helpdesk ingest` is not starved while a backlog drains.
   */
  yieldToOthersMs?: number;
}

export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  try {
    mkdirSync(dataDir, { recursive: true });
    const sqlite = new Database(path.join(dataDir, 'helpdesk.sqlite'), { timeout: BUSY_TIMEOUT_MS });
    enableWal(sqlite);
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    // Each message is a savepoint inside a batch (group-commit.ts); its statement journal is
    // small and short-lived, and in a temp file it cost 270,000 extra writes per 4,000 messages.
    sqlite.pragma('temp_store = MEMORY');
    cacheStatements(sqlite);
    const db = drizzle(sqlite, { schema });
    applyMigrations(sqlite, MIGRATIONS);
    const blobs = blobFiles(dataDir);
    const { openBatch, durable, durableSync } = groupCommit(sqlite, blobs);
    const yieldMs = options.yieldToOthersMs ?? 0;
    const turn = writeTurn(yieldMs > 0 ? () => letOthersIn(dataDir, yieldMs) : undefined);
    let reader: Database.Database | null = null;
    return {
      db,
      sqlite,
      dataDir,
      blobs,
      openBatch,
      durable,
      turn: (fn) => turn.run(fn),
      reader: () => {
        reader ??= new Database(path.join(dataDir, 'helpdesk.sqlite'), { readonly: true, timeout: BUSY_TIMEOUT_MS });
        return reader;
      },
      close: () => {
        try {
          durableSync();
        } finally {
          reader?.close();
          sqlite.close();
        }
      },
    };
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
