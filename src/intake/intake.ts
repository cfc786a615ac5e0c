import type { Lease } from '../cluster/leases';
import type { AnswerBook } from '../knowledge/answers';
import type { Config } from '../config/schema';
import { asError } from '../lib/errors';
import type { Logger } from '../lib/log';
import { raceTimer } from '../lib/race-timer';
import type { CategoryModelSource } from '../pipeline/category-model';
import { parseAhead, parsingAhead, type ParseAhead } from '../pipeline/parse-ahead';
import { prepareMessage, type Prepared } from '../pipeline/prepare';
import { ingestInto } from '../pipeline/run';
import type { DnsResolver } from '../pipeline/trust';
import type { IngestResult, RawMessage } from '../pipeline/types';
import type { IntakeBatch, IntakeStore } from './intake-store';

/**
 * A message offered by a source, with what the source does once the message is durable: move
 * the Maildir file to cur/, flag or move the IMAP message, print the line of `helpdesk ingest`.
 * An acknowledgement that fails leaves the message where it was; offered again, it is
 * recognised as a duplicate.
 */
export interface Delivery {
  raw: RawMessage;
  ack(result: IngestResult): void | Promise<void>;
}

/** What one pass over a source's deliveries came to. */
export interface PassResult {
  /** Messages whose batch was made durable and whose ack was called. */
  acknowledged: number;
  /**
   * Why the pass ended early: the store failed (disk full, I/O error; the batch in hand was
   * lost and nothing of it acknowledged), or the source's own iteration threw. Null when the
   * source ran out of deliveries.
   */
  failure: Error | null;
}

export interface Intake {
  /**
   * Takes the deliveries in order, in batches it opens, commits and acknowledges itself, until
   * they end or the store fails. Never throws; several passes (one per source) may run at once
   * and take turns batch by batch.
   */
  run(deliveries: Iterable<Delivery> | AsyncIterable<Delivery>, hooks?: PassHooks): Promise<PassResult>;
  /** Stops its parse worker; passes must have ended. */
  close(): Promise<void>;
}

export interface PassHooks {
  /** After the acks of each durable batch have been called (IMAP sends its flag or move commands then). */
  afterAcks?(): void | Promise<void>;
  /**
   * The lease of the mailbox the deliveries come from (PostgreSQL, several daemons): each
   * batch commits only while it is held, else nothing of it is acknowledged.
   */
  lease?: Lease;
}

export interface IntakeOptions {
  /** Where messages are written: `sqliteIntakeStore(store)`, or PostgreSQL's (pg-intake-store.ts). */
  store: IntakeStore;
  /** The config in force (the daemon's changes when the files do; each message uses the one of its time). */
  config: () => Config;
  log: Logger;
  /** Default: the store's own. */
  categoryModel?: CategoryModelSource;
  dnsResolver?: DnsResolver;
  /** The canned answers in force (the composition root keeps them); default: ingest's. */
  answers?: () => AnswerBook;
  now?: () => number;
  /**
   * Parse upcoming messages on a worker thread (parse-ahead.ts); default true: a worker of the
   * intake's own. A ParseAhead given here stays its owner's (a benchmark keeps one warm worker
   * for all its runs).
   */
  parseAhead?: boolean | ParseAhead;
  /** After each batch that was made durable (the daemon wakes the outbox worker). */
  onDurable?: () => void;
  /** A batch is committed after this many messages... */
  batchMessages?: number;
  /** ...or once it has been open this long, also while the source makes it wait for the next message. */
  batchMs?: number;
}

const TIMED_OUT = Symbol('timed out');

/** A delivery with the work done on it before the write turn (pipeline/prepare.ts). */
interface Ready {
  delivery: Delivery;
  prepared: Prepared;
}

/**
 * The one intake (docs/ARCHITECTURE.md "The flow"): sources only produce deliveries; the
 * intake alone parses ahead, prepares each message outside the store's write turn (its parse
 * and an agent's DKIM check: pipeline/prepare.ts), runs the stages, applies each message into
 * a batch it opened inside the turn, commits that batch, and then calls the acks of exactly
 * that batch. A batch that cannot be made durable is reported to nobody but its own pass:
 * none of its messages is acknowledged, and the source offers them again.
 *
 * A batch holds at most `batchMessages` (50) messages and stays open at most `batchMs`
 * (250 ms): enough to write the shared index pages once per batch instead of once per
 * message, short enough that the outbox worker, the jobs and another process (an MTA's pipe
 * into `helpdesk ingest`) get their turn.
 */
export function createIntake(options: IntakeOptions): Intake {
  const { store, log } = options;
  const now = options.now ?? Date.now;
  const maxMessages = options.batchMessages ?? 50;
  const maxMs = options.batchMs ?? 250;
  const categories = options.categoryModel ?? (() => store.categoryModel());
  const given = options.parseAhead;
  const ownWorker = given === undefined || given === true;
  const early: ParseAhead | undefined = typeof given === 'object' ? given : ownWorker ? parseAhead({ log: log.child({ component: 'parse-ahead' }), maxBytes: options.config().limits.maxMessageSize }) : undefined;

  const ingestOne = ({ delivery, prepared }: Ready, batch: IntakeBatch) =>
    ingestInto(batch.target, delivery.raw, { config: options.config(), log, categoryModel: categories, parseAhead: early, dnsResolver: options.dnsResolver, prepared, answers: options.answers, now });
  /** A delivery once its parse (and DKIM check) is done: that work holds no write turn. */
  const ready = async (delivery: Delivery): Promise<Ready> => ({ delivery, prepared: await prepareMessage(delivery.raw, options.config(), early, options.dnsResolver) });

  return {
    run: (deliveries, hooks = {}) => pass(deliveries, hooks),
    async close() {
      if (ownWorker) await early?.close();
    },
  };

  async function pass(deliveries: Iterable<Delivery> | AsyncIterable<Delivery>, hooks: PassHooks): Promise<PassResult> {
    const it = parsingAhead(deliveries, (d) => d.raw.bytes, early)[Symbol.asyncIterator]();
    let acknowledged = 0;
    let failure: Error | null = null;
    /**
     * The next delivery asked for but not yet taken (a batch ended while the source was still
     * producing it, or while it was being prepared): the first of a batch is waited for outside
     * the write turn, the others at most until the batch's time is up.
     */
    let next: Promise<IteratorResult<Ready>> | null = null;
    const take = () => {
      next ??= it.next().then((r): Promise<IteratorResult<Ready>> | IteratorResult<Ready> => (r.done ? r : ready(r.value).then((value) => ({ value }))));
      return next;
    };
    try {
      for (;;) {
        // Waiting for the source happens outside the turn: a source with nothing to offer
        // holds up nobody.
        const first = await take();
        next = null;
        if (first.done) break;
        const outcome = await store.turn(async () => {
          const batch = store.openBatch(hooks.lease);
          const opened = now();
          const done: Array<{ delivery: Delivery; result: IngestResult }> = [];
          let stop: Error | null = null;
          let ended = false;
          try {
            let delivery: Ready | null = first.value;
            while (delivery) {
              done.push({ delivery: delivery.delivery, result: await ingestOne(delivery, batch) });
              delivery = null;
              const left = opened + maxMs - now();
              if (done.length >= maxMessages || left <= 0) break;
              const got = await within(take(), left);
              if (got === TIMED_OUT) break;
              next = null;
              if (got.done) ended = true;
              else delivery = got.value;
            }
          } catch (err) {
            // The store failed on a message (it and the rest are offered again later), or the
            // source's iteration threw: what the batch holds so far is still committed.
            stop = asError(err);
          }
          try {
            await batch.commit();
          } catch (err) {
            log.error({ err, messages: done.length }, 'batch could not be made durable; its messages are not acknowledged and will be offered again');
            return { done: [], stop: asError(err), ended: true };
          }
          return { done, stop, ended };
        });
        if (outcome.done.length > 0) options.onDurable?.();
        for (const { delivery, result } of outcome.done) {
          try {
            await delivery.ack(result);
            acknowledged++;
          } catch (err) {
            log.error({ err, source: delivery.raw.source, position: delivery.raw.position }, 'acknowledgement failed; the message will be offered again and recognised as a duplicate');
          }
        }
        if (outcome.done.length > 0) await hooks.afterAcks?.();
        if (outcome.stop) {
          failure = outcome.stop;
          break;
        }
        if (outcome.ended) break;
      }
    } catch (err) {
      // The source's iteration threw while nothing was in hand.
      failure = asError(err);
    } finally {
      // Ends the source's generator (its finally blocks run) unless it ended by itself; with
      // a request still pending, the end is queued behind it and not waited for.
      const ending = it.return?.(undefined).catch(() => undefined);
      if (!next) await ending;
    }
    return { acknowledged, failure };
  }
}

/** The promise's value, or TIMED_OUT after `ms`; the promise is left running. */
const within = <T>(promise: Promise<T>, ms: number) => raceTimer(promise, ms, (): typeof TIMED_OUT => TIMED_OUT);
