import type { Config } from '../config/schema';
import { backoffDelay, sleep } from '../lib/backoff';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Store } from '../store/open';
import { dueOutbox, markFailed, markRetry, markSent, nextOutboxDue, type OutboxEntry } from '../store/outbox';
import { addEvent } from '../store/tickets';
import { suggestionsFor, type SuggestedArticles, type SuggestRequest } from '../knowledge/suggest';
import type { TemplateName } from '../pipeline/types';
import { composeMessage } from './compose';
import type { Templates } from './templates';
import { sendFailure, type Transport } from './transport';

export interface OutboxWorkerOptions {
  store: Store;
  config: () => Config;
  templates: Templates;
  transport: Transport;
  log: Logger;
  now?: () => number;
  /** How often the queue is looked at when nobody wakes the worker. */
  pollMs?: number;
}

export interface OutboxWorker {
  /** Something was enqueued: look at the queue now. */
  wake(): void;
  /** Sends every row due now, once; resolves to how many were attempted. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Renders and sends outbox rows (docs/ARCHITECTURE.md). A row is marked sent only after the
 * server accepted it, so a crash in between sends it again with the same Message-ID (at least
 * once, recognisably the same). Temporary failures (connection errors, 4xx) are retried with
 * exponential backoff until `outgoing.retryFor`; permanent ones (5xx, a template that cannot
 * render) are recorded on the row with the server's answer and as an event on the ticket.
 */
export function outboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 5_000;
  const stopper = new AbortController();
  let wakeUp: AbortController = new AbortController();
  let running: Promise<number> | null = null;
  // Set by wake(): a row may have been committed after the drain's query; look again.
  let woken = false;

  // Every write takes the store's write turn (store/write-turn.ts): never inside the intake's batch.
  const failPermanently = async (row: OutboxEntry, message: string) => {
    await store.turn(() =>
      store.db.transaction((tx) => {
        markFailed(tx, row.id, message);
        if (row.ticketId !== null) addEvent(tx, { ticketId: row.ticketId, at: now(), actor: 'system', type: 'delivery_failed', to: row.recipients.join(', '), reason: `${row.template}: ${message}` });
      }),
    );
    log.error({ outbox: row.id, ticket: row.ref, to: row.recipients, template: row.template, error: message }, 'notification failed permanently');
  };

  const sendOne = async (row: OutboxEntry) => {
    const config = options.config();
    // Suggestions are looked up now, after the message's batch was committed; they never stop a notification.
    let data = row.data;
    let suggested: SuggestedArticles | null = null;
    const request = row.data.suggest as SuggestRequest | null | undefined;
    if (request) {
      try {
        const found = suggestionsFor(store, config, request, row.ticketId);
        data = { ...row.data, ...found.data };
        suggested = found.suggested;
      } catch (err) {
        log.warn({ outbox: row.id, ticket: row.ref, err }, 'suggestions could not be looked up; the notification goes without them');
      }
    }
    let message;
    try {
      message = composeMessage(row, options.templates.render(row.template as TemplateName, row.locale, data), config, (relative) => store.blobs.read(relative));
    } catch (err) {
      await failPermanently(row, `cannot render template ${row.template}: ${errorMessage(err)}`);
      return;
    }
    let info: { response?: string };
    try {
      info = await options.transport.send(message, `${String(row.id).padStart(6, '0')}-${row.ref ?? 'system'}-${row.template}`);
    } catch (err) {
      const failure = sendFailure(err);
      const age = now() - row.createdAt;
      if (failure.permanent) await failPermanently(row, failure.message);
      else if (age >= config.outgoing.retryFor) await failPermanently(row, `gave up after ${row.attempts + 1} attempts over ${Math.round(age / 60000)} minutes: ${failure.message}`);
      else {
        const next = now() + backoffDelay(row.attempts, 15_000, 3_600_000);
        await store.turn(() => markRetry(store.db, row.id, failure.message, next));
        log.warn({ outbox: row.id, ticket: row.ref, attempt: row.attempts + 1, retryAt: new Date(next).toISOString(), error: failure.message }, 'notification not sent; will retry');
      }
      return;
    }
    log.info({ outbox: row.id, ticket: row.ref, to: row.recipients, template: row.template, messageId: row.messageId, response: info.response }, 'notification sent');
    // Sent: a store that cannot record it now (disk full) fails the drain; the worker keeps
    // trying to record it and does not send it again meanwhile (after a restart it would: at
    // least once, with the same Message-ID).
    sentNotRecorded.set(row.id, { at: now(), subject: message.subject ?? row.subject, ticketId: row.ticketId, suggested });
    await recordSent();
  };

  /** Rows the server accepted whose `sent` could not be written yet. */
  const sentNotRecorded = new Map<number, { at: number; subject: string; ticketId: number | null; suggested: SuggestedArticles | null }>();
  const recordSent = async () => {
    for (const [id, sent] of sentNotRecorded) {
      await store.turn(() =>
        store.db.transaction((tx) => {
          markSent(tx, id, sent.at, sent.subject);
          // The articles the mail carried, for the report (knowledge use).
          const s = sent.suggested;
          if (s && s.articles.length > 0 && sent.ticketId !== null) {
            addEvent(tx, { ticketId: sent.ticketId, at: sent.at, actor: 'system', type: s.audience === 'customer' ? 'articles_offered' : 'articles_suggested', to: s.articles.join(' '), reason: s.tickets.length > 0 ? `similar solved tickets: ${s.tickets.join(', ')}` : null });
          }
        }),
      );
      sentNotRecorded.delete(id);
    }
  };

  const drainOnce = async (): Promise<number> => {
    let count = 0;
    for (;;) {
      if (stopper.signal.aborted) return count;
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
        if (stopper.signal.aborted) return count;
        if (sentNotRecorded.has(row.id)) continue;
        await sendOne(row);
        count++;
      }
    }
  };
  // One drain at a time: a row is never sent twice concurrently by this process.
  const drain = (): Promise<number> => {
    running ??= drainOnce().finally(() => {
      running = null;
    });
    return running;
  };

  const loop = (async () => {
    // Consecutive drains that failed (the store is full or unreadable): each waits longer, up
    // to a minute, instead of failing again every few milliseconds.
    let failures = 0;
    while (!stopper.signal.aborted) {
      woken = false;
      let wait: number;
      try {
        await drain();
        failures = 0;
        const due = await store.turn(() => nextOutboxDue(store.db));
        wait = Math.max(50, Math.min(pollMs, due === null ? pollMs : due - now()));
      } catch (err) {
        wait = backoffDelay(failures++, 1000, 60_000);
        log.error({ err, retryInMs: wait }, 'outbox worker error; will retry');
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
      options.transport.close();
    },
  };
}
