import type { Config } from '../config/schema';
import { backoffDelay } from '../lib/backoff';
import { errorMessage, HelpdeskError } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { SuggestedArticles, SuggestRequest } from '../knowledge/suggest';
import { replyUndeliveredPlan } from '../pipeline/reply-undelivered';
import type { TemplateName } from '../pipeline/types';
import type { OutboxEntry } from '../store/outbox';
import type { EventInput } from '../store/tickets';
import { write, type Plan } from '../store/writes';
import { carried, composeMessage } from './compose';
import type { Templates } from './templates';
import { sendFailure, type Transport } from './transport';

/**
 * What one attempt at an outbox row came to: sent, to be retried at `retryAt`, or failed for
 * good (`retryAt` null). `serverWide`: the failure was not this message's (transport.ts
 * sendFailure); the worker pauses instead of trying every other row against it.
 */
export type Attempt = { sent: true; at: number; subject: string; suggested: SuggestedArticles | null } | { sent: false; error: string; retryAt: number | null; serverWide?: boolean };

/** Thrown by a worker's drain after an attempt that failed server-wide: the loop backs off, the rows not tried keep their turn. */
export class SendingPausedError extends HelpdeskError {
  constructor(message: string) {
    super('SENDING_PAUSED', message, { transient: true });
    this.name = 'SendingPausedError';
  }
}

/** Throws SendingPausedError when `attempt` failed server-wide. */
export function pauseIfServerWide(attempt: Attempt): void {
  if (!attempt.sent && attempt.serverWide) throw new SendingPausedError(attempt.error);
}

export interface DeliverDeps {
  config: Config;
  templates: Templates;
  transport: Transport;
  log: Logger;
  now: () => number;
  /** The bytes of the files the row carries, by the path the row names (the store's blobs). */
  files(paths: string[]): Promise<(path: string) => Buffer>;
  /** Suggestions for a notice (knowledge/suggest.ts), where the store can look them up. */
  suggest?(request: SuggestRequest, ticketId: number | null): Promise<{ data: Record<string, unknown>; suggested: SuggestedArticles | null }>;
}

/**
 * Renders and sends one outbox row, and says what became of it; writes nothing (each store
 * records the attempt: the outbox worker on SQLite, the claim on PostgreSQL). Temporary
 * failures (connection errors, 4xx) are retried with exponential backoff until
 * `outgoing.retryFor`; permanent ones (5xx, a template that cannot render, a file the row
 * names that is gone) fail the row with the reason.
 */
export async function deliver(row: OutboxEntry, deps: DeliverDeps): Promise<Attempt> {
  const { config, log, now } = deps;
  // Suggestions are looked up now, after the message's batch was committed; they never stop a notification.
  let data = row.data;
  let suggested: SuggestedArticles | null = null;
  const request = row.data.suggest as SuggestRequest | null | undefined;
  if (request && deps.suggest) {
    try {
      const found = await deps.suggest(request, row.ticketId);
      data = { ...row.data, ...found.data };
      suggested = found.suggested;
    } catch (err) {
      log.warn({ outbox: row.id, ticket: row.ref, err }, 'suggestions could not be looked up; the notification goes without them');
    }
  }
  const failed = (error: string): Attempt => {
    log.error({ outbox: row.id, ticket: row.ref, to: row.recipients, template: row.template, error }, 'notification failed permanently');
    return { sent: false, error, retryAt: null };
  };
  let message;
  try {
    const files = await deps.files(carried(row).map((a) => a.path));
    message = composeMessage(row, deps.templates.render(row.template as TemplateName, row.locale, data), config, files);
  } catch (err) {
    return failed(`cannot render template ${row.template}: ${errorMessage(err)}`);
  }
  let info: { response?: string };
  try {
    info = await deps.transport.send(message, `${String(row.id).padStart(6, '0')}-${row.ref ?? 'system'}-${row.template}`);
  } catch (err) {
    const failure = sendFailure(err);
    const age = now() - row.createdAt;
    if (failure.permanent) return failed(failure.message);
    if (age >= config.outgoing.retryFor) return failed(`gave up after ${row.attempts + 1} attempts over ${Math.round(age / 60000)} minutes: ${failure.message}`);
    const retryAt = now() + backoffDelay(row.attempts, 15_000, 3_600_000);
    log.warn({ outbox: row.id, ticket: row.ref, attempt: row.attempts + 1, retryAt: new Date(retryAt).toISOString(), error: failure.message }, 'notification not sent; will retry');
    return { sent: false, error: failure.message, retryAt, serverWide: failure.serverWide };
  }
  log.info({ outbox: row.id, ticket: row.ref, to: row.recipients, template: row.template, messageId: row.messageId, response: info.response }, 'notification sent');
  return { sent: true, at: now(), subject: message.subject ?? row.subject, suggested };
}

/**
 * The ticket's history of an attempt, written with the row's new status in its transaction: a
 * notification that failed for good, or the articles a sent one carried (the report's
 * knowledge use). A relayed reply that failed for good is also told to the agent who wrote it
 * (pipeline/reply-undelivered.ts).
 */
export function* attemptPlan(config: Config | null, row: OutboxEntry, attempt: Attempt, now: number): Plan<void> {
  for (const e of attemptEvents(row, attempt, now)) yield* write('addEvent', e);
  if (config && !attempt.sent && attempt.retryAt === null) yield* replyUndeliveredPlan(config, row, attempt.error, now);
}

function attemptEvents(row: Pick<OutboxEntry, 'ticketId' | 'recipients' | 'template'>, attempt: Attempt, now: number): EventInput[] {
  if (row.ticketId === null) return [];
  if (!attempt.sent) return attempt.retryAt === null ? [{ ticketId: row.ticketId, at: now, actor: 'system', type: 'delivery_failed', to: row.recipients.join(', '), reason: `${row.template}: ${attempt.error}` }] : [];
  const s = attempt.suggested;
  if (!s || s.articles.length === 0) return [];
  return [{ ticketId: row.ticketId, at: attempt.at, actor: 'system', type: s.audience === 'customer' ? 'articles_offered' : 'articles_suggested', to: s.articles.join(' '), reason: s.tickets.length > 0 ? `similar solved tickets: ${s.tickets.join(', ')}` : null }];
}
