import type Database from 'better-sqlite3';

/** How long a batch may stay open when nobody calls durable() (a source waiting for mail). */
const BATCH_MAX_MS = 1000;

/**
 * A durability barrier owned by one writer: waits until the files saved so far are on disk,
 * then commits the open batch, if any, and makes every commit so far survive a power cut. It
 * rejects when any batch was lost (rolled back) since this writer's previous call, whoever's
 * call or timer found the loss: a writer never learns of its own lost rows from nobody.
 */
export type Barrier = () => Promise<void>;

export interface GroupCommit {
  /** Opens a batch transaction unless one is open; the callers' transactions nest in it as savepoints. */
  beginBatch(): void;
  /** The barrier of the one writer that opens the store alone (a CLI command, a test). */
  durable: Barrier;
  /**
   * A barrier of its own for each writer that shares the connection (each source, the outbox
   * worker): a lost batch is reported to every one of them (issue #18: the outbox worker's call
   * swallowed a loss and a source then acknowledged rolled-back mail).
   */
  barrier(): Barrier;
  /** durable(), blocking: for closing the store. */
  durableSync(): void;
}

/** The files whose rows a batch holds (store/blobs.ts): a batch is committed only once they are durable. */
export interface BatchFiles {
  /** Whether a file saved so far is still being written or fsynced (or failed, not yet reported). */
  pending(): boolean;
  /** Resolves once no file is pending; rejects with the first write or fsync failure since the last call. */
  flushed(): Promise<void>;
  /** flushed(), blocking: writes what is still pending itself. */
  flushSync(): void;
}

/**
 * Group commit for one connection (see openStore). Writers that acknowledge in batches (the
 * sources, `helpdesk ingest`) open a batch before each message; every message is still
 * its own transaction, a savepoint inside the batch, kept or undone as a whole, so a
 * failing message never touches its neighbours. durable() commits the batch and fsyncs:
 * index pages that every message touches are written once per batch instead of once per
 * message, and the disk is waited for once.
 *
 * If SQLite itself rolls the batch back (disk full, I/O error), or a file its rows name
 * cannot be made durable, the messages applied in it are gone: every writer's next barrier
 * rejects, so none of them is acknowledged and their sources offer them again (a message of
 * a batch that was not lost comes back as a duplicate, which is recorded as such).
 */
export function groupCommit(sqlite: Database.Database, files?: BatchFiles): GroupCommit {
  // total_changes() counts every row this connection changed, committed or rolled back;
  // unchanged since the last barrier means nothing new can be waiting for the disk.
  const changes = sqlite.prepare('select total_changes()').pluck();
  const mark = sqlite.prepare("insert into key_value (key, value) values ('store:durable-at', ?) on conflict (key) do update set value = excluded.value");
  // A fresh connection has changed nothing (migrations, if any ran, count from here): opening
  // a store to read it writes nothing.
  let synced = 0;
  let batchOpen = false;
  /** Which batch is open: a timer or a wait for files that outlived its batch does nothing. */
  let batchNumber = 0;
  let timer: NodeJS.Timeout | null = null;
  /** How many batches were lost so far, and why the latest was: each barrier compares with what it has told its writer. */
  let losses = 0;
  let lastLoss: Error | null = null;
  const lose = (err: unknown) => {
    losses++;
    lastLoss = err instanceof Error ? err : new Error(String(err));
  };

  /** Marks the open batch ended; false when none was open. */
  const closeBatch = (): boolean => {
    if (!batchOpen) return false;
    batchOpen = false;
    if (timer) clearTimeout(timer);
    timer = null;
    return true;
  };

  /** Commits the open batch, or remembers why it could not be. */
  const endBatch = (): void => {
    if (!closeBatch()) return;
    if (!sqlite.inTransaction) {
      lose(new Error('SQLite rolled back the batch transaction (see the error of the message that failed); its messages must be offered again'));
      return;
    }
    try {
      sqlite.exec('COMMIT');
    } catch (err) {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      lose(err);
    }
  };

  /** The commit and fsync, once the files are durable; a lost batch is recorded, not thrown. */
  const commitAndSync = () => {
    if (!sqlite.open) return;
    endBatch();
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

  /** Rolls the open batch back, if any: for a barrier that cannot be completed (its messages are offered again). */
  const rollbackBatch = () => {
    if (closeBatch() && sqlite.inTransaction) sqlite.exec('ROLLBACK');
  };

  const makeDurable = async () => {
    // Files first: no row that names a file becomes durable before the file does. A file that
    // did not reach the disk was removed: the batch naming it must not be committed, or its
    // message, offered again, would be a duplicate without its attachment files.
    try {
      await files?.flushed();
    } catch (err) {
      rollbackBatch();
      lose(err);
      return;
    }
    commitAndSync();
  };

  const barrier = (): Barrier => {
    let told = losses;
    return async () => {
      await makeDurable();
      if (losses !== told) {
        told = losses;
        throw lastLoss;
      }
    };
  };

  const durableSync = () => {
    files?.flushSync();
    commitAndSync();
  };

  const beginBatch = () => {
    if (batchOpen) {
      if (sqlite.inTransaction) return;
      endBatch(); // rolled back under us: recorded for every writer's next barrier
    }
    if (sqlite.inTransaction) return;
    sqlite.exec('BEGIN IMMEDIATE');
    batchOpen = true;
    const batch = ++batchNumber;
    // A batch never waits long for its durable(): commit it anyway (durability follows at the
    // next barrier; the source has not acknowledged anything of it yet).
    timer = setTimeout(() => commitByTimer(batch), BATCH_MAX_MS);
    timer.unref();
  };

  /**
   * The timer's commit, once the batch's files are on disk: committed rows can reach the disk
   * at any time (synchronous=NORMAL), and rows naming a file that a power cut then took would
   * make the message, offered again, a duplicate without its attachments. A file that could
   * not be made durable rolls the batch back, and every writer's next barrier reports it.
   */
  const commitByTimer = (batch: number): void => {
    if (!batchOpen || batch !== batchNumber) return;
    timer = null;
    if (!files?.pending()) return endBatch();
    files.flushed().then(
      () => commitByTimer(batch),
      (err: unknown) => {
        if (batchOpen && batch === batchNumber) rollbackBatch();
        lose(err);
      },
    );
  };

  return { beginBatch, durable: barrier(), barrier, durableSync };
}
