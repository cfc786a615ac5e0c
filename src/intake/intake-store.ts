import type { Lease } from '../cluster/leases';
import type { CategoryPredictor } from '../pipeline/category-model';
import { sqliteTarget, type IngestTarget } from '../pipeline/ingest-target';
import { categoryModelFor } from '../pipeline/store-reader';
import type { Store } from '../store/open';

/**
 * What the intake (intake.ts) needs of a store: turns to write in, and batches. SQLite's is
 * below; PostgreSQL's is pg-intake-store.ts.
 */
export interface IntakeStore {
  /** Runs `fn` when the intake may write a batch (SQLite: the store's one write turn). */
  turn<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Opens a batch. With `lease` (PostgreSQL only), the batch commits only while the lease of
   * the mailbox its messages came from is still held (the fence, docs/CLUSTER.md).
   */
  openBatch(lease?: Lease): IntakeBatch;
  /** The category predictor trained from the store, when there is one. */
  categoryModel(): Promise<CategoryPredictor | null>;
}

/**
 * One batch of messages: each is kept or undone as a whole, and nothing of the batch is
 * acknowledged before commit() resolved.
 */
export interface IntakeBatch {
  /** The store each message of the batch is ingested into. */
  readonly target: IngestTarget;
  /** Makes the batch durable; rejects when it could not (then none of it may be acknowledged). */
  commit(): Promise<void>;
}

/** The SQLite store's turns and batches (store/group-commit.ts). */
export function sqliteIntakeStore(store: Store): IntakeStore {
  const categories = categoryModelFor(store);
  return {
    turn: (fn) => store.turn(fn),
    openBatch(lease) {
      if (lease) throw new Error('a SQLite store has no mailbox leases: it serves one daemon');
      const batch = store.openBatch();
      return { target: sqliteTarget(store, batch), commit: () => batch.commit() };
    },
    categoryModel: () => categories.current(),
  };
}
