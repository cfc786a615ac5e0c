import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../lib/backoff';
import { ackBatch } from '../lib/ack-batch';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { parsingAhead } from '../pipeline/parse-ahead';
import type { MailboxStateStore } from '../store/mailbox-state';
import type { MessageSink, Source } from './source';

export interface MaildirSourceOptions {
  id: string;
  dir: string;
  pollIntervalMs: number;
  state: MailboxStateStore;
  log: Logger;
}

/**
 * Reads a Maildir (the embedded default, or what any MTA delivers): every file in new/ is
 * ingested in name order (Maildir names begin with the delivery time) and moved to cur/
 * with the Seen flag only after its transaction committed and was made durable (in batches,
 * see ack-batch.ts). A crash in between leaves it in new/, and dedup recognises it on the
 * next pass. New mail is noticed by a directory watch, with a periodic scan as a safety net
 * (watches miss events on some filesystems).
 */
export function maildirSource(options: MaildirSourceOptions): Source {
  const { id, dir, log } = options;
  const newDir = path.join(dir, 'new');
  const curDir = path.join(dir, 'cur');
  let sink: MessageSink | null = null;
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
      log.error({ err, dir: newDir }, 'cannot read maildir');
      options.state.recordError(id, `cannot read ${newDir}: ${errorMessage(err)}`, Date.now());
      schedule(backoffDelay(failures++));
      return;
    }
    options.state.recordCheck(id, names.length, Date.now());
    const processed = ackBatch(() => (sink as MessageSink).durable(), moveToCur);
    try {
      for await (const { name, file, bytes } of parsingAhead(readMessages(names), (m) => m.bytes, sink?.parseAhead)) {
        if (stopping || !sink) return;
        try {
          await sink.ingest({ bytes, source: `maildir:${id}`, position: name, mailbox: id });
          await processed.add(name);
        } catch (err) {
          failures++;
          const delay = backoffDelay(failures);
          log.error({ err, file, retryInMs: delay }, 'message could not be stored; will retry');
          options.state.recordError(id, `message could not be stored: ${errorMessage(err)}`, Date.now());
          schedule(delay);
          return;
        }
        failures = 0;
      }
    } finally {
      // A barrier that fails leaves the batch in new/; dedup recognises it next time.
      try {
        await processed.flush();
      } catch (err) {
        log.error({ err }, 'store could not be made durable; processed messages stay in new/ for now');
      }
    }
    schedule(options.pollIntervalMs);
  };

  /** The messages of new/ in name order, read as they are needed. */
  function* readMessages(names: string[]): Generator<{ name: string; file: string; bytes: Buffer }> {
    for (const name of names) {
      if (stopping) return;
      const file = path.join(newDir, name);
      try {
        yield { name, file, bytes: readFileSync(file) };
      } catch (err) {
        // Gone already (another reader) or unreadable; the next scan tells which.
        log.warn({ file, err: errorMessage(err) }, 'cannot read maildir message');
      }
    }
  }

  const moveToCur = (names: string[]) => {
    for (const name of names) {
      const file = path.join(newDir, name);
      const flagged = name.includes(':2,') ? name : `${name}:2,S`;
      try {
        renameSync(file, path.join(curDir, flagged));
      } catch (err) {
        log.error({ err, file }, 'processed message could not be moved to cur/; dedup will catch it next time');
      }
    }
  };

  return {
    id,
    async start(s) {
      sink = s;
      for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
      if (existsSync(newDir)) {
        watcher = watch(newDir, () => {
          // Many events arrive per delivery (tmp → new rename); a short delay folds them.
          schedule(50);
        });
        watcher.on('error', (err) => log.warn({ err }, 'maildir watch failed; relying on periodic scans'));
      }
      options.state.recordState(id, 'watching', Date.now());
      log.info({ dir }, 'maildir source started');
      await trigger();
    },
    async stop() {
      stopping = true;
      watcher?.close();
      if (timer) clearTimeout(timer);
      await running;
      options.state.recordState(id, 'stopped', Date.now());
      log.info('maildir source stopped');
    },
  };
}
