import type Database from 'better-sqlite3';

/**
 * One batch of messages in one SQLite transaction, owned by the intake that opened it
 * (src/intake/): its commit-and-fsync result belongs to it alone. Each message still is its
 * own transaction, a savepoint inside the batch, kept or undone as a whole, so a failing
 * message never touches its neighbours. Committing once per batch writes the index pages that
 * every message touches once per batch instead of once per message, and waits for the disk
 * once.
 */
export interface Batch {
  /**
   * Starts the batch's transaction unless it has started: called right before each message's
   * rows are written. Throws when SQLite has already rolled the batch back (disk full, I/O
   * error): the batch is lost, and nothing more may be written as if it were not.
   */
  join(): void;
  /**
   * Waits until the files the batch's rows name are on disk, commits, and makes the commit
   * survive a power cut. Rejects when any of that failed; the batch's rows are then rolled
   * back (or, when only the fsync failed, not known to be durable), and none of its messages
   * may be acknowledged.
   */
  commit(): Promise<void>;
  /** Rolls back whatever the batch holds (nothing of it is acknowledged). */
  abandon(): void;
}

export interface GroupCommit {
  /** Opens a batch; throws when one is open (there is one owner of the connection's transaction at a time). */
  openBatch(): Batch;
  /**
   * The barrier of a writer outside any batch (a CLI command, the outbox worker, a job):
   * waits for the files saved so far, then makes every commit so far survive a power cut.
   * Throws when a batch is open: that batch's owner decides its fate.
   */
  durable(): Promise<void>;
  /** The barrier, blocking, for closing the store; a batch still open is rolled back first. */
  durableSync(): void;
}

/** The files whose rows a batch holds (store/blobs.ts): a batch is committed only once they are durable. */
export interface BatchFiles {
  /** Resolves once no file is pending; rejects with the first write or fsync failure since the last call. */
  flushed(): Promise<void>;
  /** flushed(), blocking: writes what is still pending itself. */
  flushSync(): void;
}

/**
 * Group commit for one connection (see openStore). Transactions commit with
 * synchronous=NORMAL; the barrier is one commit under synchronous=FULL, whose fsync of the WAL
 * covers every frame before it.
 */
export function groupCommit(sqlite: Database.Database, files?: BatchFiles): GroupCommit {
  // total_changes() counts every row this connection changed, committed or rolled back;
  // unchanged since the last barrier means nothing new can be waiting for the disk.
  const changes = sqlite.prepare('select total_changes()').pluck();
  const mark = sqlite.prepare("insert into key_value (key, value) values ('store:durable-at', ?) on conflict (key) do update set value = excluded.value");
  // A fresh connection has changed nothing (migrations, if any ran, count from here): opening
  // a store to read it writes nothing.
  let synced = 0;
  let open: Batch | null = null;

  /** Makes every commit so far survive a power cut; nothing to do when nothing changed. */
  const sync = () => {
    if (changes.get() === synced) return;
    if (sqlite.inTransaction) throw new Error('store.durable() called inside a transaction');
    sqlite.pragma('synchronous = FULL');
    try {
      mark.run(new Date().toISOString());
    } finally {
      sqlite.pragma('synchronous = NORMAL');
    }
    synced = changes.get() as number;
  };

  const openBatch = (): Batch => {
    if (open) throw new Error('a batch is already open on this store');
    let began = false;
    let ended = false;
    const end = () => {
      ended = true;
      if (open === batch) open = null;
    };
    const rollback = () => {
      if (began && sqlite.inTransaction) sqlite.exec('ROLLBACK');
      end();
    };
    const batch: Batch = {
      join() {
        if (ended) throw new Error('the batch has ended');
        if (!began) {
          sqlite.exec('BEGIN IMMEDIATE');
          began = true;
        } else if (!sqlite.inTransaction) {
          end();
          throw new Error('SQLite rolled back the batch transaction (see the error of the message that failed); its messages must be offered again');
        }
      },
      async commit() {
        if (ended) throw new Error('the batch has ended');
        if (!began) return end();
        // Files first: no row that names a file becomes durable before the file does. A file
        // that did not reach the disk was removed, so the rows naming it must not be kept.
        try {
          await files?.flushed();
        } catch (err) {
          rollback();
          throw err;
        }
        if (!sqlite.inTransaction) {
          end();
          throw new Error('SQLite rolled back the batch transaction (see the error of the message that failed); its messages must be offered again');
        }
        try {
          sqlite.exec('COMMIT');
        } catch (err) {
          rollback();
          throw err;
        }
        end();
        sync();
      },
      abandon: rollback,
    };
    open = batch;
    return batch;
  };

  const durable = async () => {
    if (open) throw new Error('store.durable() called while a batch is open; its owner commits it');
    await files?.flushed();
    if (!sqlite.open) return;
    sync();
  };

  const durableSync = () => {
    open?.abandon();
    files?.flushSync();
    sync();
  };

  return { openBatch, durable, durableSync };
}
