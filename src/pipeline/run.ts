import type { Config } from '../config/schema';
import { StoreUnavailableError, errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Batch } from '../store/group-commit';
import { isSqliteStoreFailure } from '../store/failures';
import type { Store } from '../store/open';
import { shouldLearn } from '../spam/learn-policy';
import { answersFor, type AnswerBook } from '../knowledge/answers';
import { sqliteTarget, type IngestTarget } from './ingest-target';
import type { CategoryModelSource } from './category-model';
import type { ParseAhead } from './parse-ahead';
import type { Prepared } from './prepare';
import { stages } from './stages';
import type { DnsResolver } from './trust';
import type { Draft, IngestResult, Lesson, RawMessage, StageContext } from './types';

export interface IngestDeps {
  config: Config;
  store: Store;
  log: Logger;
  now?: () => number;
  /** The category predictor in force (see category-model.ts); none: defaults only. */
  categoryModel?: CategoryModelSource;
  /**
   * The batch the message's rows join (the intake's, src/intake/): its owner commits it and
   * acknowledges the message only then. None: the message is its own transaction.
   */
  batch?: Batch;
  /** Where the caller parses upcoming messages early (parse-ahead.ts). */
  parseAhead?: ParseAhead;
  /** DNS for `trust.mode: dkim`; default: the system's resolver. */
  dnsResolver?: DnsResolver;
  /** The message's parse and DKIM verification, done before the store's write turn (prepare.ts). */
  prepared?: Prepared;
  /** The canned answers in force; default: the config's templates folder, re-read when it changes (knowledge/answers.ts). */
  answers?: () => AnswerBook;
}

/** Ingests one raw message into the SQLite store (see ingestInto). */
export function ingest(raw: RawMessage, deps: IngestDeps): Promise<IngestResult> {
  return ingestInto(sqliteTarget(deps.store, deps.batch), raw, deps);
}

/** What ingesting needs beside the store it writes to. */
export type IngestOptions = Omit<IngestDeps, 'store' | 'batch'>;

/**
 * Ingests one raw message into `target`: keeps the raw bytes, runs the stages in order, applies
 * the result in one transaction. Every message gets an outcome: a stage that throws makes the
 * message `quarantined` with the stage and the reason, and the next message goes on normally.
 * Throws only StoreUnavailableError (transient: the caller must offer the message again).
 */
export async function ingestInto(target: IngestTarget, raw: RawMessage, deps: IngestOptions): Promise<IngestResult> {
  const started = process.hrtime.bigint();
  const now = deps.now ?? Date.now;
  const { sha256: rawSha256, path: rawPath } = await target.keepRaw(raw);
  const log = deps.log.child({ source: raw.source, position: raw.position, mailbox: raw.mailbox, sha256: rawSha256.slice(0, 12) });
  const draft = await runStages({ raw, rawSha256, rawPath, receivedAt: now() }, { config: deps.config, store: target.reader(deps.config), now, log, categoryModel: (await deps.categoryModel?.()) ?? null, parseAhead: deps.parseAhead, dnsResolver: deps.dnsResolver, prepared: deps.prepared, answers: deps.answers ?? (() => answersFor(deps.config)) });

  // What staff do teaches the filter, with the message that does it: #spam / #notspam always;
  // an agent answering the customer says the ticket is ham, learnt when the filter was not
  // already sure of it (spam/learn-policy.ts), so easy ham does not drown the model.
  const lesson = await lessonOf(draft, target);
  let result: IngestResult;
  try {
    result = await target.apply(draft, deps.config, lesson);
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    if (isStoreFailure(err)) throw new StoreUnavailableError(`cannot write the store: ${errorMessage(err)}`, err);
    log.error({ err }, 'apply failed; quarantining message');
    const reason = `apply: ${errorMessage(err)}`;
    try {
      result = await target.apply({ ...draft, stop: { outcome: 'quarantined', reason, ticket: null } }, deps.config);
    } catch (err2) {
      throw new StoreUnavailableError(`cannot record the quarantined message: ${errorMessage(err2)}`, err2);
    }
  }
  if (lesson && result.lesson) {
    const { ticket } = result;
    if ('learnt' in result.lesson) log.info({ ticket, label: lesson.label, learnt: result.lesson.learnt, why: lesson.why }, 'spam filter taught by staff');
    else log.error({ ticket, label: lesson.label, why: lesson.why, reason: result.lesson.failed }, 'could not learn the spam correction; the message is stored without it');
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  log.info({ outcome: result.outcome, ticket: result.ticket, threadedBy: result.threadedBy, spam: result.spam ?? null, reason: result.reason, ms: Math.round(ms * 10) / 10 }, 'message ingested');
  return result;
}

/** The lesson the message teaches the spam filter, if any (applied only if the message is appended to its ticket). */
async function lessonOf(draft: Draft, target: IngestTarget): Promise<Lesson | undefined> {
  const u = draft.update?.errors.length === 0 && !draft.stop ? draft.update : null;
  if (!u) return undefined;
  if (u.spamLabel) return { ticketId: u.ticket.id, label: u.spamLabel, why: `#${u.spamLabel === 'ham' ? 'notspam' : 'spam'}` };
  if (!u.relay) return undefined;
  const score = await target.spamScore(u.ticket.id);
  return score !== null && shouldLearn('ham', score) ? { ticketId: u.ticket.id, label: 'ham', why: `answered by an agent; the filter scored it ${score}` } : undefined;
}

/**
 * Runs the stages in order on a draft; reads the store, writes nothing. A stage that throws
 * stops the run with a `quarantined` outcome naming it. Also what `helpdesk rules test` uses.
 */
export async function runStages(start: Draft, ctx: StageContext): Promise<Draft> {
  let draft = start;
  for (const stage of stages) {
    try {
      draft = { ...draft, ...(await stage.run(draft, ctx)) };
    } catch (err) {
      if (isStoreFailure(err)) throw new StoreUnavailableError(`store failed in ${stage.name}: ${errorMessage(err)}`, err);
      ctx.log.warn({ err, stage: stage.name }, 'stage failed; quarantining message');
      draft = { ...draft, stop: { outcome: 'quarantined', reason: `${stage.name}: ${errorMessage(err)}`, ticket: null } };
    }
    if (draft.stop) break;
  }
  return draft;
}

/** Errors that say the store itself is unusable right now (store/failures.ts), not the message. */
function isStoreFailure(err: unknown): boolean {
  return err instanceof StoreUnavailableError || isSqliteStoreFailure(err);
}
