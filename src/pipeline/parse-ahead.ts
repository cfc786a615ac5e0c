import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { raceTimer } from '../lib/race-timer';
import type { ParseReply, ParseRequest } from './parse-worker';
import type { InboundMail } from './types';

/**
 * Parses upcoming messages on a worker thread while the current one goes through the other
 * stages and is applied: a backlog (IMAP drain, `helpdesk ingest` of a folder) then uses a
 * second core, and parsing (half of the work per message) leaves the thread that writes.
 * Messages are still processed strictly in order; only their parsing is done early.
 *
 * The intake calls ahead() for the next messages; the parse stage take()s the result for the
 * very Buffer it is handed, or parses it on a worker of its own (alone()) when it was not sent
 * ahead, so that a parse can always be abandoned (limits.processingTime, parsedWithin). When
 * the shared worker dies (a message that exhausts its memory, a bug) or is abandoned, what it
 * had in hand is parsed on a worker of its own, and the next ahead() starts a new shared
 * worker; after repeated deaths nothing more is sent ahead. A message that exhausts the memory
 * of a worker of its own too is quarantined (ParseOutOfMemory), and so is one that stops a
 * worker of its own otherwise once workers have been seen to parse (ParseCrashed). Only when
 * no worker can run at all, or none has ever parsed a message (the worker itself is broken),
 * is a message parsed inline. A message's parse error is the same error inline or in a worker.
 */
export interface ParseAhead {
  /** Starts parsing a message that is coming up; does nothing when that cannot help. */
  ahead(bytes: Buffer): void;
  /** The early parse of exactly this Buffer, if one was started (handed out once). */
  take(bytes: Buffer): Promise<InboundMail> | undefined;
  /**
   * Parses a message that was not sent ahead (too big for the shared worker's heap) on a
   * worker of its own, terminated when it is done or abandoned; undefined when there is no
   * worker to run (running from TypeScript sources).
   */
  alone(bytes: Buffer): { parsed: Promise<InboundMail>; abandon(): void } | undefined;
  /** Gives up on the parse in hand: the shared worker is terminated (and started anew for the next message). */
  abandon(): void;
  close(): Promise<void>;
}

/** A parse that took longer than limits.processingTime: the message is quarantined with this reason. */
export class ParseTimeout extends Error {}

/** Rejection for a parse the worker could not finish: parse inline instead. */
export class ParseWorkerGone extends Error {}

/**
 * A message whose parse ran out of memory on a worker of its own: it is quarantined with this
 * reason, never parsed inline. Inline it had no memory limit and held the event loop: 20 MB of
 * html that is all `<` took 23 s and 2.4 GB there, every mailbox and job waiting, and a host
 * with less memory would kill the daemon, which then met the same message again at start.
 */
export class ParseOutOfMemory extends Error {}

/**
 * A message that stopped a worker of its own (an uncaught error, an exit), after workers had
 * parsed other messages: it is quarantined with this reason, never parsed inline, where the
 * same fault would stop the daemon, which then meets the message again at start.
 */
export class ParseCrashed extends Error {}

/** The compiled worker next to this file; absent when running from TypeScript sources. */
export const DEFAULT_WORKER_FILE = path.join(__dirname, 'parse-worker.js');

const MAX_RESTARTS = 5;
/** Bigger messages are rare and parsed inline, so the worker's heap can stay small. */
const EARLY_MAX_BYTES = 2 * 1024 * 1024;

export function parseAhead(options: { log: Logger; maxBytes: number; workerFile?: string }): ParseAhead {
  const workerFile = options.workerFile ?? DEFAULT_WORKER_FILE;
  const usable = existsSync(workerFile);
  const early = new WeakMap<Buffer, Promise<InboundMail>>();
  const pending = new Map<number, { resolve: (m: InboundMail) => void; reject: (e: Error) => void }>();
  let worker: Worker | null = null;
  let nextId = 1;
  let deaths = 0;
  let closed = false;
  /** A worker has parsed a message (or found it not parseable): workers run, so a death is the message's doing. */
  let proven = false;

  const gone = (w: Worker, why: string, death = true) => {
    if (worker !== w) return;
    worker = null;
    if (death) deaths++;
    options.log.warn({ why, inHand: pending.size, deaths, disabled: deaths >= MAX_RESTARTS }, 'parse worker stopped; parsing inline what it had');
    for (const p of pending.values()) p.reject(new ParseWorkerGone(`parse worker stopped: ${why}`));
    pending.clear();
  };

  const start = (): Worker => {
    // A bounded old generation: the daemon's memory budget (bench:imap, < 300 MB while
    // draining) has little room for a second default heap; big messages are parsed inline
    // (EARLY_MAX_BYTES). The young generation is not small, though: 4 MB filled every five
    // messages, so the parse in hand was always live at a scavenge and got promoted: 3.0 s of
    // GC per 13,000 messages (2,627 scavenges, 101 full collections). 32 MB: 0.7 s (357, 24),
    // for ~20 MB more peak RSS (bench:imap: 240 -> 260 MB).
    const w = new Worker(workerFile, { resourceLimits: { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 96 } });
    w.on('message', (reply: ParseReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      proven = true;
      pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(revive(reply.mail));
      if (pending.size === 0) w.unref();
    });
    // Running out of memory is the message's doing, not the worker's: it does not count
    // towards MAX_RESTARTS, or five crafted mails of 2 MB would stop all parsing ahead for good
    // (every later message then waits for a worker of its own to start).
    w.on('error', (err) => gone(w, errorMessage(err), !outOfMemory(err)));
    w.on('exit', (code) => gone(w, `exit code ${code}`));
    return w;
  };

  return {
    ahead(bytes) {
      if (!usable || closed || deaths >= MAX_RESTARTS || bytes.length > Math.min(options.maxBytes, EARLY_MAX_BYTES) || early.has(bytes)) return;
      worker ??= start();
      const id = nextId++;
      const promise = new Promise<InboundMail>((resolve, reject) => pending.set(id, { resolve, reject }));
      // Nobody may ever take it (the source stopped): that must not be an unhandled rejection.
      promise.catch(() => undefined);
      early.set(bytes, promise);
      // A copy of exactly these bytes (the Buffer may be a view into a larger one), moved, not cloned.
      const copy = new Uint8Array(bytes);
      worker.ref();
      worker.postMessage({ id, bytes: copy } satisfies ParseRequest, [copy.buffer]);
    },
    take(bytes) {
      const promise = early.get(bytes);
      early.delete(bytes);
      return promise;
    },
    alone(bytes) {
      if (!usable || closed || bytes.length > options.maxBytes) return undefined;
      // Its own heap, sized for the biggest message allowed: mailparser holds the message,
      // its decoded parts and the text several times over.
      const heapMb = Math.max(256, Math.ceil((bytes.length * 12) / 1e6));
      const w = new Worker(workerFile, { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
      const copy = new Uint8Array(bytes);
      // After workers have parsed, a death is this message's doing, and the same fault inline
      // would stop the daemon: the message is quarantined. Before, the worker itself may be broken.
      const died = (why: string) => (proven ? new ParseCrashed(`stopped the worker parsing it (${why}); not parsed on the daemon's own thread`) : new ParseWorkerGone(`parse worker stopped: ${why}`));
      const parsed = new Promise<InboundMail>((resolve, reject) => {
        w.on('message', (reply: ParseReply) => {
          proven = true;
          if ('error' in reply) reject(new Error(reply.error));
          else resolve(revive(reply.mail));
        });
        w.on('error', (err) => reject(outOfMemory(err) ? new ParseOutOfMemory(`needs more memory than a parse may use (${heapMb} MB): ${err.message}`) : died(errorMessage(err))));
        w.on('exit', (code) => reject(died(`exit code ${code}`)));
      });
      const end = () => void w.terminate();
      parsed.then(end, end);
      w.postMessage({ id: 0, bytes: copy } satisfies ParseRequest, [copy.buffer]);
      return { parsed, abandon: end };
    },
    abandon() {
      const w = worker;
      if (!w) return;
      gone(w, 'abandoned: a parse took longer than limits.processingTime', false);
      void w.terminate();
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      for (const p of pending.values()) p.reject(new ParseWorkerGone('parse worker closed'));
      pending.clear();
      if (w) await w.terminate();
    },
  };
}

/** A worker stopped at its heap limit (resourceLimits). */
const outOfMemory = (err: Error) => (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';

/** Structured clone turns Buffers into plain Uint8Arrays; make them Buffers again. */
function revive(mail: InboundMail): InboundMail {
  return {
    ...mail,
    attachments: mail.attachments.map((a) => ({ ...a, content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength) })),
  };
}

/**
 * How many messages beyond the current one are parsed early. Two kept the worker idle
 * whenever the main thread spent longer on a message than usual (a barrier, a big message)
 * and the main thread waiting when the worker did: eight let the two threads use 1.6 cores
 * instead of 1.54 (bench:ingest). Only messages up to EARLY_MAX_BYTES go to the worker.
 */
const DEPTH = 8;

/**
 * Yields `items` in order, each once the parse of the next DEPTH items has been started
 * (`ahead` undefined: yields them as they come).
 */
export async function* parsingAhead<T>(items: Iterable<T> | AsyncIterable<T>, bytesOf: (item: T) => Buffer | undefined, ahead: ParseAhead | undefined): AsyncGenerator<T> {
  const queue: T[] = [];
  for await (const item of items) {
    const bytes = bytesOf(item);
    if (bytes && ahead) ahead.ahead(bytes);
    queue.push(item);
    if (queue.length > DEPTH || !ahead) yield queue.shift() as T;
  }
  yield* queue;
}

/**
 * The parse of `bytes` on a worker thread, so that it can be abandoned: the early parse when one
 * was started, else one on a worker of its own; inline only when no worker can run (or none has
 * ever parsed: ParseAhead's alone() tells). A parse that takes longer than `budgetMs` is
 * abandoned (its worker terminated) and rejects with ParseTimeout; a message's parse error is
 * thrown either way.
 */
export async function parsedWithin(ahead: ParseAhead | undefined, bytes: Buffer, budgetMs: number, parseInline: (bytes: Buffer) => Promise<InboundMail>): Promise<InboundMail> {
  const deadline = Date.now() + budgetMs;
  const early = ahead?.take(bytes);
  // The early parse, and when the shared worker went away with it (another message's parse
  // was abandoned, or it died), a worker of its own: a hostile message is never parsed inline.
  const attempts = [() => (early ? { parsed: early, abandon: () => ahead?.abandon() } : undefined), () => ahead?.alone(bytes)];
  for (const attempt of attempts) {
    const work = attempt();
    if (!work) continue;
    try {
      return await raceTimer(work.parsed, Math.max(0, deadline - Date.now()), () => {
        work.abandon();
        throw new ParseTimeout(`took longer than limits.processingTime (${budgetMs} ms); abandoned`);
      });
    } catch (err) {
      if (!(err instanceof ParseWorkerGone)) throw err;
    }
  }
  return parseInline(bytes);
}
