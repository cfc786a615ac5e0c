import type { Config } from '../config/schema';
import { backoffDelay, sleep } from '../lib/backoff';
import type { Logger } from '../lib/log';
import type { Store } from '../store/open';
import { dueOutbox, markFailed, markRetry, markSent, nextOutboxDue, type OutboxEntry } from '../store/outbox';
import { runPlan, sqliteWrites } from '../store/writes';
import { suggestionsFor } from '../knowledge/suggest';
import { similarResolved } from '../search/similar';
import { attemptPlan, deliver, pauseIfServerWide, SendingPausedError, type Attempt, type DeliverDeps } from './deliver';
import type { Templates } from './templates';
import type { Transport } from './transport';

/** What an outbox worker needs whatever its store. */
export interface WorkerOptions {
  config: () => Config;
  templates: Templates;
  transport: Transport;
  log: Logger;
  now?: () => number;
  /** How often the queue is looked at when nobody wakes the worker. */
  pollMs?: number;
}

export interface OutboxWorkerOptions extends WorkerOptions {
  store: Store;
}

export interface OutboxWorker {
  /** Something was enqueued: look at the queue now. */
  wake(): void;
  /** Sends every row due now, once; resolves to how many were attempted. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Sends the SQLite store's outbox rows (docs/ARCHITECTURE.md; each row rendered and sent by
 * deliver.ts). A row is marked sent only after the server accepted it, so a crash in between
 * sends it again with the same Message-ID (at least once, recognisably the same). What became
 * of a row is recorded on it, failures for good also as an event on the ticket.
 */
export function outboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { store } = options;
  const now = options.now ?? Date.now;
  const deps = (): DeliverDeps => ({
    config: options.config(),
    templates: options.templates,
    transport: options.transport,
    log: options.log,
    now,
    files: async () => (relative) => store.blobs.read(relative),
    suggest: (request, ticketId) => suggestionsFor((question, exclude, limit) => similarResolved(store, question, exclude, limit), options.config(), request, ticketId),
  });

  // Every write takes the store's write turn (store/write-turn.ts): never inside the intake's batch.
  const record = async (row: OutboxEntry, attempt: Attempt) => {
    if (attempt.sent) {
      // Sent: a store that cannot record it now (disk full) fails the drain; the worker keeps
      // trying to record it and does not send it again meanwhile (after a restart it would: at
      // least once, with the same Message-ID).
      sentNotRecorded.set(row.id, { row, attempt });
      return recordSent();
    }
    const retryAt = attempt.retryAt;
    await store.turn(() =>
      store.db.transaction((tx) => {
        if (retryAt !== null) markRetry(tx, row.id, attempt.error, retryAt);
        else markFailed(tx, row.id, attempt.error);
        runPlan(attemptPlan(options.config(), row, attempt, now()), sqliteWrites(tx));
      }),
    );
  };

  /** Rows the server accepted whose `sent` could not be written yet. */
  const sentNotRecorded = new Map<number, { row: OutboxEntry; attempt: Attempt & { sent: true } }>();
  const recordSent = async () => {
    for (const [id, { row, attempt }] of sentNotRecorded) {
      await store.turn(() =>
        store.db.transaction((tx) => {
          markSent(tx, id, attempt.at, attempt.subject);
          runPlan(attemptPlan(options.config(), row, attempt, attempt.at), sqliteWrites(tx));
        }),
      );
      sentNotRecorded.delete(id);
    }
  };

  return workerLoop(options, {
    async drainOnce(stopped) {
      let count = 0;
      for (;;) {
        if (stopped()) return count;
        // Read in the turn: outside it, the rows of a batch still open would be seen, and could be
        // rolled back after they were sent. A row committed but not yet durable (a batch whose
        // fsync failed) could vanish in a power cut together with the message that asked for it,
        // which would then be ingested again and mailed twice: the worker's own barrier first.
        await recordSent();
        const rows = await store.turn(async () => {
          const due = dueOutbox(store.db, now());
          if (due.length > 0) await store.durable();
          return due;
        });
        if (rows.length === 0) return count;
        for (const row of rows) {
          if (stopped()) return count;
          if (sentNotRecorded.has(row.id)) continue;
          const attempt = await deliver(row, deps());
          await record(row, attempt);
          count++;
          pauseIfServerWide(attempt);
        }
      }
    },
    nextDue: () => store.turn(() => nextOutboxDue(store.db)),
  });
}

/** How a worker finds and sends its store's rows. */
export interface WorkerStore {
  /** Sends every row due, until none is or `stopped()`; resolves to how many were attempted. */
  drainOnce(stopped: () => boolean): Promise<number>;
  /** When the next row is due (null: none is waiting). */
  nextDue(): Promise<number | null>;
}

/**
 * The worker's life for any store: drain, then sleep until the next row is due (at most
 * `pollMs`, 5 s), woken early by wake(); one drain at a time, so this process never sends a row
 * twice at once. A drain that fails (the store is full or unreachable), or whose row failed
 * server-wide (SendingPausedError: no server answered, or it refused the desk's login or sender;
 * the one row tried waits its backoff, the others are not tried against it and keep their
 * turn), is tried again later, each time waiting longer, up to a minute.
 */
export function workerLoop(o: WorkerOptions, store: WorkerStore): OutboxWorker {
  const pollMs = o.pollMs ?? 5_000;
  const now = o.now ?? Date.now;
  const stopper = new AbortController();
  let wakeUp: AbortController = new AbortController();
  let running: Promise<number> | null = null;
  // Set by wake(): a row may have been committed after the drain's query; look again.
  let woken = false;
  const drain = (): Promise<number> => {
    running ??= store.drainOnce(() => stopper.signal.aborted).finally(() => {
      running = null;
    });
    return running;
  };

  const loop = (async () => {
    let failures = 0;
    while (!stopper.signal.aborted) {
      woken = false;
      let wait: number;
      try {
        await drain();
        failures = 0;
        const due = await store.nextDue();
        wait = Math.max(50, Math.min(pollMs, due === null ? pollMs : due - now()));
      } catch (err) {
        wait = backoffDelay(failures++, 1000, 60_000);
        if (err instanceof SendingPausedError) o.log.warn({ error: err.message, retryInMs: wait }, 'the mail server did not take mail from the desk; sending paused, the next row is tried after the wait');
        else o.log.error({ err, retryInMs: wait }, 'outbox worker error; will retry');
      }
      // A fresh controller per wait, aborted by wake() or stop(); no AbortSignal.any, whose
      // dependants a long-lived signal would collect for the months the daemon runs.
      wakeUp = new AbortController();
      if (stopper.signal.aborted) break;
      // While failing, new mail does not cut the backoff short.
      if (failures > 0) await sleep(wait, stopper.signal);
      else if (!woken) await sleep(wait, wakeUp.signal);
    }
  })();

  return {
    wake: () => {
      woken = true;
      wakeUp.abort();
    },
    drain,
    async stop() {
      stopper.abort();
      wakeUp.abort();
      await loop;
      await running;
      o.transport.close();
    },
  };
}
