import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool, PoolClient } from 'pg';
import { holdsLease, type Lease } from '../cluster/leases';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import { sha256Hex } from '../lib/hash';
import type { Logger } from '../lib/log';
import { categoryModelCache } from '../pipeline/category-model';
import type { IngestTarget } from '../pipeline/ingest-target';
import { lessonFailedEvent } from '../pipeline/apply';
import { applyOnPostgres } from '../pipeline/pg-apply';
import { pgStoreReader } from '../pipeline/pg-store-reader';
import type { Lesson, LessonOutcome, StoreReader } from '../pipeline/types';
import { blobPath } from '../store/blobs';
import { writeTurn } from '../store/write-turn';
import { beginOn, releaseConnection } from '../store/pg/transaction';
import { keepBlobs, keepRawFile } from '../store/pg/blobs';
import { driverError, isPgStoreFailure, isQueryTimeout } from '../store/pg/failures';
import { categorySource, ticketInfo, type PgDb } from '../store/pg/reads';
import * as schema from '../store/pg/schema';
import { pgLearnCorrection } from '../store/pg/spam';
import { pgWrites } from '../store/pg/writes';
import type { IntakeBatch, IntakeStore } from './intake-store';

/**
 * The intake's batches on PostgreSQL (docs/CLUSTER.md). A batch is one transaction on one
 * connection of the pool, opened by its first message. Each message is a savepoint: its raw
 * bytes go into `blobs` first (kept even when the message is quarantined), then the stages read
 * through that connection (a batch sees its own rows) and apply writes the message, its
 * attachments and its notifications; a message whose writing fails is rolled back to its
 * savepoint and recorded as quarantined, its neighbours untouched. COMMIT comes after the
 * fence: the batch commits only while the lease of its mailbox is held.
 *
 * Each batch has its own connection, so several run at once (BATCHES_AT_ONCE); two batches
 * that could write the same message (one mail delivered to two mailboxes) are ordered by
 * apply's dedup lock (store/pg/writes.ts).
 */
/**
 * Batches open at once in one daemon. Each message is mostly this process's CPU (parsing, the
 * stages) with round trips in between: two batches keep the CPU busy through each other's
 * round trips. Thirty (one per mailbox) made every batch thirty times slower, held thirty
 * connections, and delayed the lease renewals on the same event loop until leases ran out
 * (bench:cluster).
 */
const BATCHES_AT_ONCE = 2;

export function pgIntakeStore(pool: Pool, log: Logger, options: { categoryCheckEveryMs?: number } = {}): IntakeStore {
  const turns = writeTurn(undefined, BATCHES_AT_ONCE);
  // Trained from the tickets every daemon wrote, read on the pool (not in a batch).
  const reads = drizzle(pool, { schema });
  const categories = categoryModelCache(
    categorySource(reads),
    { checkEveryMs: options.categoryCheckEveryMs, onError: (err) => log.warn({ err: errorMessage(err) }, 'the category predictor could not be checked; the last one stays') },
  );
  return {
    turn: (fn) => turns.run(fn),
    openBatch: (lease) => pgBatch(pool, reads, lease ?? null, log),
    categoryModel: () => categories.current(),
  };
}

/** `onPool`: statements outside the batch's transaction (new contacts, store/pg/writes.ts). */
function pgBatch(pool: Pool, onPool: PgDb, lease: Lease | null, log: Logger): IntakeBatch {
  let client: PoolClient | null = null;
  let db: PgDb | null = null;
  /** The connection reported an error of its own, or left a statement unanswered: whatever it was doing is lost. */
  let lost: Error | null = null;
  let ended = false;
  /** A message's savepoint is open (from keepRaw until its apply succeeds). */
  let inMessage = false;
  /** A read of the stages failed: the transaction is aborted until rolled back to the message's savepoint. */
  let readFailed = false;
  const onError = (err: Error) => {
    lost = err;
    log.error({ err }, 'the connection of an intake batch failed; the batch is lost and its messages will be offered again');
  };

  /** A statement never answered (the pool's query timeout) leaves the connection unusable, as its own error does. */
  const noteTimeout = (err: unknown) => {
    if (isQueryTimeout(err)) lost ??= driverError(err) as Error;
  };
  /**
   * `err` as the caller must see it: a store failure becomes StoreUnavailableError, any other
   * error of PostgreSQL's is its own (whose message says what was refused, without the query).
   */
  const classify = (err: unknown, doing: string): unknown => {
    if (err instanceof StoreUnavailableError) return err;
    const cause = driverError(err);
    noteTimeout(err);
    return isPgStoreFailure(err, lost !== null) ? new StoreUnavailableError(`${doing}: ${errorMessage(cause)}`, cause) : cause;
  };
  /** Runs a step whose every failure is the store's. */
  const storeStep = async <T>(doing: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      noteTimeout(err);
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`${doing}: ${errorMessage(driverError(err))}`, driverError(err));
    }
  };
  const query = (text: string) => storeStep(text, async () => void (await connection().query(text)));
  const connection = (): PoolClient => {
    if (!client) throw new Error('the batch has not begun');
    return client;
  };
  const database = (): PgDb => {
    if (!db) throw new Error('the batch has not begun');
    return db;
  };

  const begin = async () => {
    if (ended) throw new StoreUnavailableError('the batch has ended');
    if (lost) throw new StoreUnavailableError(`the batch's connection failed: ${lost.message}`, lost);
    if (client) return;
    client = await beginOn(pool, onError);
    db = drizzle(client, { schema });
  };

  /** Gives the connection back (destroyed when it failed or its state is unknown). */
  const end = (broken: boolean) => {
    ended = true;
    const c = client;
    client = null;
    db = null;
    if (!c) return;
    releaseConnection(c, onError, broken || lost !== null);
  };

  const target: IngestTarget = {
    async keepRaw(raw) {
      await begin();
      const kept = await storeStep('cannot keep the raw message', async () => {
        if (raw.oversized) return keepRawFile(database(), raw.oversized.file);
        const sha256 = sha256Hex(raw.bytes);
        const path = blobPath('raw', sha256);
        await keepBlobs(database(), [{ path, sha256, content: raw.bytes }]);
        return { sha256, path };
      });
      await query('SAVEPOINT message');
      inMessage = true;
      readFailed = false;
      return kept;
    },
    reader(config) {
      return watched(pgStoreReader(database(), config), (err) => {
        const seen = classify(err, 'store failed while the stages read');
        if (!(seen instanceof StoreUnavailableError)) readFailed = true;
        return seen;
      });
    },
    async apply(draft, config, lesson) {
      if (!inMessage) throw new Error('apply without the message\'s savepoint (keepRaw first)');
      if (readFailed) {
        await query('ROLLBACK TO SAVEPOINT message');
        readFailed = false;
      }
      try {
        const applied = await applyOnPostgres(draft, database(), config, { contactsOn: onPool });
        const result = lesson && applied.outcome === 'appended' ? { ...applied, lesson: await learnWithin(lesson, draft.receivedAt) } : applied;
        await query('RELEASE SAVEPOINT message');
        inMessage = false;
        return result;
      } catch (err) {
        const seen = classify(err, 'cannot write the store');
        if (seen instanceof StoreUnavailableError) throw seen;
        // The message's writes are undone and its savepoint kept for the quarantine record.
        await query('ROLLBACK TO SAVEPOINT message');
        throw seen;
      }
    },
    spamScore: (ticketId) => storeStep('cannot read the ticket', async () => (await ticketInfo(database(), ticketId))?.spamScore ?? null),
  };

  /**
   * The message's lesson, inside the message's savepoint (as pipeline/apply.ts on SQLite): a
   * store failure undoes the message with it (it is offered again); any other failure is the
   * lesson's alone, undone in a savepoint of its own while the message stands.
   */
  const learnWithin = async (lesson: Lesson, at: number): Promise<LessonOutcome> => {
    await query('SAVEPOINT lesson');
    try {
      const learnt = await pgLearnCorrection(database(), lesson.ticketId, lesson.label, at);
      await query('RELEASE SAVEPOINT lesson');
      return { learnt };
    } catch (err) {
      const seen = classify(err, 'cannot teach the spam filter');
      if (seen instanceof StoreUnavailableError) throw seen;
      await query('ROLLBACK TO SAVEPOINT lesson');
      await query('RELEASE SAVEPOINT lesson');
      const failed = errorMessage(seen);
      await pgWrites(database()).addEvent(lessonFailedEvent(lesson, at, failed));
      return { failed };
    }
  };

  return {
    target,
    async commit() {
      if (ended) throw new Error('the batch has ended');
      if (!client) return void (ended = true);
      if (lost) {
        // Nothing more can be asked of the connection (its error, or a statement never answered).
        const cause = lost;
        end(true);
        throw new StoreUnavailableError(`the batch's connection failed: ${cause.message}`, cause);
      }
      try {
        // A message the store failed on (it is offered again) is undone; the ones before it stay.
        if (inMessage) await connection().query('ROLLBACK TO SAVEPOINT message');
        if (lease && !(await holdsLease(connection(), lease))) {
          throw new StoreUnavailableError(`the lease of mailbox ${lease.mailbox} (generation ${lease.generation}) was lost: another daemon reads it now`);
        }
        // COMMIT of a transaction PostgreSQL has aborted answers ROLLBACK, not an error.
        const done = await connection().query('COMMIT');
        if (done.command !== 'COMMIT') throw new StoreUnavailableError(`PostgreSQL rolled the batch back (${done.command})`);
      } catch (err) {
        // ROLLBACK of what is left; the connection is destroyed whatever happens to it.
        await client?.query('ROLLBACK').catch(() => undefined);
        end(true);
        throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(`cannot commit the batch: ${errorMessage(err)}`, err);
      }
      end(false);
    },
  };
}

/** The reader with each failure passed through `onError`, whose result is thrown instead. */
function watched(reader: StoreReader, onError: (err: unknown) => unknown): StoreReader {
  const entries = Object.entries(reader).map(([name, fn]) => [
    name,
    (...args: unknown[]) =>
      (fn as (...a: unknown[]) => Promise<unknown>)(...args).catch((err: unknown) => {
        throw onError(err);
      }),
  ]);
  return Object.fromEntries(entries) as unknown as StoreReader;
}
