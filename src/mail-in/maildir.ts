import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../lib/backoff';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Delivery, Intake } from '../intake/intake';
import type { RawMessage } from '../pipeline/types';
import { bestEffort, type SourceState } from '../store/mailbox-state';
import type { Source } from './source';

export interface MaildirSourceOptions {
  id: string;
  dir: string;
  pollIntervalMs: number;
  state: SourceState;
  log: Logger;
  /** limits.maxMessageSize: a bigger file is quarantined without being read into memory. */
  maxMessageSize: number;
  /** The first retry after a failed pass waits up to this long, each further one twice as long (up to 5 minutes). */
  retryBaseMs?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a Maildir (the embedded default, or what any MTA delivers): every file in new/ is
 * offered to the intake in name order (Maildir names begin with the delivery time) and moved
 * to cur/ with the Seen flag only once its batch is durable. A crash in between leaves it in
 * new/, and dedup recognises it on the next pass. New mail is noticed by a directory watch,
 * with a periodic scan as a safety net (watches miss events on some filesystems). A pass the
 * store fails is tried again with backoff until it succeeds.
 */
export function maildirSource(options: MaildirSourceOptions): Source {
  const { id, dir, log } = options;
  const newDir = path.join(dir, 'new');
  const curDir = path.join(dir, 'cur');
  const state = bestEffort(options.state, log);
  let intake: Intake | null = null;
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  let running: Promise<void> | null = null;
  let again = false;
  let failures = 0;

  const schedule = (ms: number) => {
    if (stopping) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void trigger(), ms);
    timer.unref();
  };

  /** Runs a scan now, or once more right after the one in progress. */
  const trigger = (): Promise<void> => {
    if (stopping) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await scan();
      } while (again && !stopping);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const scan = async () => {
    let names: string[];
    try {
      names = readdirSync(newDir).filter((n) => !n.startsWith('.')).sort();
    } catch (err) {
      fail(`cannot read ${newDir}: ${errorMessage(err)}`, err);
      return;
    }
    state.recordCheck(id, names.length, Date.now());
    if (!intake) return;
    const pass = await intake.run(deliveries(names));
    // Backoff grows with failures in a row that got nothing through, not with a store that
    // fails now and then while mail still flows.
    if (pass.acknowledged > 0 && pass.failure) failures = 0;
    if (pass.failure) {
      fail(`message could not be stored: ${errorMessage(pass.failure)}`, pass.failure);
      return;
    }
    if (failures > 0) {
      failures = 0;
      state.recordState(id, 'watching', Date.now());
      log.info('maildir source recovered');
    }
    schedule(options.pollIntervalMs);
  };

  /** Records the failure and tries again with backoff, for as long as it takes. */
  const fail = (message: string, err: unknown) => {
    const delay = backoffDelay(failures++, options.retryBaseMs ?? 1000);
    log.error({ err, dir, retryInMs: delay }, `${message}; will retry`);
    state.recordError(id, message, Date.now());
    state.recordState(id, 'failing', Date.now());
    schedule(delay);
  };

  /** The messages of new/ in name order, read as they are needed; each acknowledged by its move to cur/. */
  function* deliveries(names: string[]): Generator<Delivery> {
    for (const name of names) {
      if (stopping) return;
      const file = path.join(newDir, name);
      const at = { source: `maildir:${id}`, position: name, mailbox: id };
      let raw: RawMessage;
      try {
        // A file too big to be a message is never read into memory: the intake copies it into
        // the store as it streams by, and quarantines it.
        const size = statSync(file).size;
        raw = size > options.maxMessageSize ? { ...at, bytes: EMPTY, oversized: { file, size } } : { ...at, bytes: readFileSync(file) };
      } catch (err) {
        // Gone already (another reader) or unreadable; the next scan tells which.
        log.warn({ file, err: errorMessage(err) }, 'cannot read maildir message');
        continue;
      }
      yield { raw, ack: () => moveToCur(name) };
    }
  }

  const moveToCur = (name: string) => {
    const flagged = name.includes(':2,') ? name : `${name}:2,S`;
    renameSync(path.join(newDir, name), path.join(curDir, flagged));
  };

  return {
    id,
    async start(i) {
      intake = i;
      for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
      if (existsSync(newDir)) {
        watcher = watch(newDir, () => {
          // Many events arrive per delivery (tmp → new rename); a short delay folds them.
          schedule(50);
        });
        watcher.on('error', (err) => log.warn({ err }, 'maildir watch failed; relying on periodic scans'));
      }
      state.recordState(id, 'watching', Date.now());
      log.info({ dir }, 'maildir source started');
      await trigger();
    },
    async stop() {
      stopping = true;
      watcher?.close();
      if (timer) clearTimeout(timer);
      await running;
      state.recordState(id, 'stopped', Date.now());
      log.info('maildir source stopped');
    },
  };
}
