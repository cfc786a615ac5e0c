import type { Config } from '../config/schema';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import { sha256Hex } from '../lib/hash';
import type { Batch } from '../store/group-commit';
import type { Store } from '../store/open';
import { ticketInfo } from '../store/tickets';
import { apply } from './apply';
import { storeReader } from './store-reader';
import type { Draft, IngestResult, Lesson, RawMessage, StoreReader } from './types';

/**
 * What ingesting one message needs of a store (pipeline/run.ts): somewhere to keep the raw
 * bytes, the stages' reader, and the writer, which also teaches the spam filter what staff
 * did. SQLite's is below; PostgreSQL's (intake/pg-intake-store.ts) runs each message in a
 * savepoint of the intake's batch. Every method that fails because the store itself is
 * unusable (full, gone, I/O) throws StoreUnavailableError: the message is offered again later.
 * Anything else a method throws is about this message.
 */
export interface IngestTarget {
  /** Keeps the raw bytes (a message too big for memory is copied from its file). */
  keepRaw(raw: RawMessage): Promise<{ sha256: string; path: string }>;
  /** What the stages read, seeing the rows of the batch the message joins. */
  reader(config: Config): StoreReader;
  /** Writes the message (pipeline/apply.ts) and, if it is appended to its ticket, learns its lesson: kept or undone as a whole. */
  apply(draft: Draft, config: Config, lesson?: Lesson): Promise<IngestResult>;
  /** The spam score a ticket was given when it was opened. */
  spamScore(ticketId: number): Promise<number | null>;
}

/** The SQLite store as a target; with `batch`, the message's transaction joins it. */
export function sqliteTarget(store: Store, batch?: Batch): IngestTarget {
  return {
    async keepRaw(raw) {
      try {
        if (raw.oversized) {
          const kept = await store.blobs.keepRawFile(raw.oversized.file);
          return { sha256: kept.sha256, path: kept.relative };
        }
        const sha256 = sha256Hex(raw.bytes);
        return { sha256, path: store.blobs.saveRaw(raw.bytes, sha256) };
      } catch (err) {
        throw new StoreUnavailableError(`cannot keep the raw message: ${errorMessage(err)}`, err);
      }
    },
    reader: (config) => storeReader(store, config),
    async apply(draft, config, lesson) {
      try {
        batch?.join();
      } catch (err) {
        throw new StoreUnavailableError(`cannot write in the batch transaction: ${errorMessage(err)}`, err);
      }
      return apply(draft, store, config, lesson);
    },
    spamScore: async (ticketId) => ticketInfo(store.db, ticketId)?.spamScore ?? null,
  };
}
