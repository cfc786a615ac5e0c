import type { Config } from '../config/schema';
import type { CategoryPredictor } from '../pipeline/category-model';
import type { FieldChange } from '../pipeline/changes';
import { categoryModelFor, storeReader } from '../pipeline/store-reader';
import type { StoreReader } from '../pipeline/types';
import { applyStaffChange, type StaffChangeResult } from '../pipeline/staff-change';
import { searchTickets, type TicketHit } from '../search/tickets';
import { learnCorrection, type LessonResult } from '../spam/correct';
import { sqliteView, type DeskView } from '../store/desk-view';
import { outboxById, requeue, type OutboxEntry } from '../store/outbox';
import { sqliteSpamModel, type SpamLabel } from '../store/spam';
import type { SpamModel } from '../spam/model';
import { runJob, type JobName, type JobOutcome } from '../jobs/scheduler';
import type { Logger } from '../lib/log';
import type { Locations } from '../locations';
import { configAt, openSqlite } from './common';
import { EXIT } from './exit-codes';

/**
 * The desk a staff command reads and changes, on whichever store helpdesk.yaml names: the
 * SQLite file in --data, or PostgreSQL (its client loaded only then). The command closes it.
 */
export interface CliDesk {
  config: Config;
  view: DeskView;
  staffChange(ticket: { id: number; ref: string }, change: FieldChange, actor: string, at: number, reason: string | null): Promise<StaffChangeResult>;
  /** Staff marked a ticket spam or took it out of spam: its first message teaches the filter. */
  learnCorrection(ticketId: number, label: SpamLabel, at: number): Promise<LessonResult>;
  /** A failed or bounced outbox row queued again (same Message-ID): the row as it was, and whether it was requeued; null when there is no such row. */
  retryOutbox(id: number, at: number): Promise<{ row: OutboxEntry; requeued: boolean } | null>;
  /** A scheduled job run now (`jobs run`); null when it does not run on this store. */
  runJob(name: JobName, log: Logger): Promise<JobOutcome | null>;
  /** `tickets search`: tickets whose messages match the query's words, best first, with the filters. */
  searchTickets(query: string, limit: number): Promise<TicketHit[]>;
  /** What the pipeline's stages read, for `rules test` (nothing is written through it). */
  reader: StoreReader;
  /** The category predictor as the daemon would use it now. */
  categoryModel(): Promise<CategoryPredictor | null>;
  /** The spam filter's model (`spam train`, `classify`, `eval`). */
  spamModel: SpamModel;
  close(): Promise<void>;
}

export async function openCliDesk(where: Locations, failCode: number = EXIT.CONFIG, opts: { readOnly?: boolean } = {}): Promise<CliDesk> {
  const config = configAt(where, failCode, opts);
  if (config.store.postgres) {
    const { pgCliDesk } = await import('./desk-postgres');
    return pgCliDesk(config, config.store.postgres.url);
  }
  const store = openSqlite(where, failCode);
  return {
    config,
    view: sqliteView(store),
    staffChange: (ticket, change, actor, at, reason) => applyStaffChange(store, config, ticket, change, actor, at, reason),
    learnCorrection: async (ticketId, label, at) => learnCorrection(store, ticketId, label, at),
    retryOutbox: async (id, at) => {
      const row = outboxById(store.db, id);
      return row ? { row, requeued: requeue(store.db, id, at) } : null;
    },
    runJob: (name, log) => runJob(name, store, config, log),
    searchTickets: async (query, limit) => searchTickets(store.db, config, query, limit),
    get reader() {
      return storeReader(store, config);
    },
    categoryModel: () => categoryModelFor(store).current(),
    spamModel: sqliteSpamModel(store),
    close: async () => store.close(),
  };
}
