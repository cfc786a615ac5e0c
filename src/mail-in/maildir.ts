import { closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../lib/backoff';
import { childPath, isHidden, shownName } from '../lib/byte-names';
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
const SEEN = Buffer.from(':2,S');

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
  /** Entries of new/ that could not be offered, with why: each is reported once, not on every scan. */
  const unreadable = new Map<string, string>();

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
    let entries: Dirent<Buffer>[];
    try {
      // Names as bytes (lib/byte-names.ts): one that is not UTF-8 is read too.
      entries = readdirSync(newDir, { withFileTypes: true, encoding: 'buffer' }).filter((e) => !isHidden(e.name));
    } catch (err) {
      fail(`cannot read ${newDir}: ${errorMessage(err)}`, err);
      return;
    }
    const names = entries.map((e) => e.name).sort(Buffer.compare);
    // The backlog is the files waiting: a FIFO, directory or symlink is never a message and
    // stays in new/ (reported below), so it does not count. Every name is still offered:
    // readEntry decides on what it opens, not on this listing.
    state.recordCheck(id, entries.filter((e) => e.isFile()).length, Date.now());
    const present = new Set(names.map(shownName));
    for (const name of unreadable.keys()) if (!present.has(name)) unreadable.delete(name);
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
  function* deliveries(names: Buffer[]): Generator<Delivery> {
    for (const bytes of names) {
      if (stopping) return;
      const file = childPath(newDir, bytes);
      const name = shownName(bytes);
      const at = { source: `maildir:${id}`, position: name, mailbox: id };
      let raw: RawMessage;
      try {
        const entry = readEntry(file, options.maxMessageSize);
        if ('notMail' in entry) {
          report(name, `new/${name} is ${entry.notMail}, not a message file; left where it is`);
          continue;
        }
        // A file too big to be a message is never read into memory: the intake copies it into
        // the store as it streams by, and quarantines it.
        raw = 'bytes' in entry ? { ...at, bytes: entry.bytes } : { ...at, bytes: EMPTY, oversized: { file, size: entry.oversized } };
      } catch (err) {
        // Gone already (another reader) or unreadable (permissions): tried again on every scan.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(name, `cannot read new/${name}: ${errorMessage(err)}; tried again on every scan`);
        continue;
      }
      yield { raw, ack: () => moveToCur(bytes) };
    }
  }

  /** Logs and records (for `helpdesk status`) why an entry of new/ was not offered, once per entry and reason. */
  const report = (name: string, why: string) => {
    if (unreadable.get(name) === why) return;
    unreadable.set(name, why);
    log.warn({ file: path.join(newDir, name) }, why);
    state.recordError(id, why, Date.now());
  };

  const moveToCur = (name: Buffer) => {
    const flagged = name.includes(':2,') ? name : Buffer.concat([name, SEEN]);
    renameSync(childPath(newDir, name), childPath(curDir, flagged));
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

/**
 * What an entry of new/ holds: a message's bytes, the size of a file too big to read, or what
 * else it is. Opened without following a symlink (a link could lead out of the Maildir, to
 * /dev/zero or a secret) and without waiting for a writer (reading a FIFO would block the
 * event loop, and with it every mailbox and job, until someone wrote to it); only a regular
 * file is read. MTAs deliver nothing else.
 */
function readEntry(file: Buffer, maxSize: number): { bytes: Buffer } | { oversized: number } | { notMail: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { notMail: 'a symbolic link' };
    throw err;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { notMail: kindOf(stats) };
    if (stats.size > maxSize) return { oversized: stats.size };
    return { bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
