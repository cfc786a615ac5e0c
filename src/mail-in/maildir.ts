import { existsSync, mkdirSync, renameSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../lib/backoff';
import { childPath, shownName } from '../lib/byte-names';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Delivery, Intake } from '../intake/intake';
import { JUNK_POSITION, type DeskCopyHeld, type RawMessage } from '../pipeline/types';
import { bestEffort, type SourceState } from '../store/mailbox-state';
import { listEntries, readEntry, withoutInfo } from './maildir-files';
import { forgetJunkMoves, junkMoves } from './maildir-junk-moves';
import type { Source } from './source';

export interface MaildirSourceOptions {
  id: string;
  dir: string;
  pollIntervalMs: number;
  state: SourceState;
  log: Logger;
  /** limits.maxMessageSize: a bigger file is quarantined without being read into memory. */
  maxMessageSize: number;
  /** The first retry after a failed pass waits up to this long, each further one twice as long (up to `retryMaxMs`). */
  retryBaseMs?: number;
  /** The longest wait between retries (5 minutes). */
  retryMaxMs?: number;
  /** The junk folder (`folders.junk`), kept as Maildir++ keeps folders: `<dir>/.<name>`. */
  junk?: string | null;
  /** Whether what the mail server files into the junk folder's new/ is offered too (`readJunk`). */
  readJunk?: boolean;
  /** Learns a message staff moved into the junk folder (`jobs.junkLearning`; see maildir-junk-moves.ts). */
  learnJunk?: (bytes: Buffer, deskCopyHeld?: DeskCopyHeld) => Promise<string>;
  /** How often the junk folder is looked at for staff's moves, at most (`junkScanInterval`). */
  junkScanEveryMs?: number;
  /** Called for an inbox message the pipeline found to be a duplicate: staff may have moved it out of the junk folder. */
  onDuplicate?: (bytes: Buffer, source: string, position: string) => Promise<unknown>;
}

const EMPTY = Buffer.alloc(0);
/** The keys under which a junk folder, or a cur/, that cannot be read is reported once (see `unreadable`). */
const JUNK_FOLDER_KEY = '(junk folder)';
const JUNK_MOVES_KEY = '(junk folder, staff moves)';
const CUR_FOLDER_KEY = '(cur)';
/** The inbox cur/'s state (`<id>#cur`, in the column IMAP keeps UIDVALIDITY in; lastUid: the first look's time). */
const CUR_LOOKED = 'maildir: cur since';
const SEEN = Buffer.from(':2,S');
/** The junk folder's state (`<id>#junk`, in the column IMAP keeps UIDVALIDITY in) while it is read. */
const JUNK_READ = 'maildir: read';
/** Moved to cur/ without flags: seen by a program, still unread for staff (as a mail client's first look leaves it). */
const UNREAD = Buffer.from(':2,');

/** A folder whose waiting files are read: the inbox's new/ (and cur/), or the junk folder's new/. */
interface Folder {
  /** Where its waiting files are. */
  newDir: string;
  curDir: string;
  /** How its entries are named in logs and `helpdesk status`. */
  label: string;
  /** A file's position (RawMessage.position). */
  position(name: Buffer): string;
  /** Set for the junk folder: the folder's name (RawMessage.filedAsJunk). */
  filedAsJunk?: string;
  /** Takes a file out of the waiting ones once its batch is durable (moved to cur/, or, for cur/ itself, recorded where it stays). */
  ack(name: Buffer): void;
}

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
  const junk: Folder | null = options.junk && options.readJunk ? junkFolder(path.join(dir, `.${options.junk}`), options.junk) : null;
  const moves =
    options.junk && options.learnJunk
      ? junkMoves({ id, folder: path.join(dir, `.${options.junk}`), inbox: dir, state: options.state, learn: options.learnJunk, everyMs: options.junkScanEveryMs ?? 60_000, maxMessageSize: options.maxMessageSize, log })
      : null;
  /**
   * Positions (the file's name without its flags) of the inbox's cur/ files that are settled:
   * older than the desk's first look at cur/, or taken by the desk (see curWaiting).
   */
  const settledCur = new Set<string>();
  // A file the desk takes from new/ is settled in cur/ too.
  const inbox: Folder = {
    newDir,
    curDir,
    label: 'new',
    position: shownName,
    ack: (n) => {
      moveToCur(curDir, newDir, n, SEEN);
      settledCur.add(shownName(n));
    },
  };
  const inboxCur: Folder = { newDir: curDir, curDir, label: 'cur', position: (n) => shownName(withoutInfo(n)), ack: (n) => settledCur.add(shownName(withoutInfo(n))) };
  const curKey = `${id}#cur`;
  /** When the desk first looked at cur/ (mailbox state `<id>#cur`), once read; what is older is not the desk's. */
  let curSince: number | null = null;
  let curScannedAt = -Infinity;
  /** A file arrived in cur/ (or was renamed there) since its last look: looked at again soon (CUR_TOUCHED_MS), not only on the periodic scan. */
  let curTouched = false;
  /** Whether the desk has had its first look at the junk folder (mailbox state `<id>#junk`). */
  let junkLooked = false;
  let junkWatched = false;
  const junkKey = `${id}#junk`;
  const state = bestEffort(options.state, log);
  let intake: Intake | null = null;
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | null = null;
  let stopping = false;
  let running: Promise<void> | null = null;
  let again = false;
  let failures = 0;
  /** Entries of new/ that could not be offered, with why: each is reported once, not on every scan. */
  const unreadable = new Map<string, string>();
  /**
   * When the watch last saw each file of a new/ written to, by folder and name (writtenKey): a
   * file written into new/ itself (`cp`, `scp`, a script's `>`, instead of into tmp/ and then
   * renamed, as Maildir asks and MTAs do) may still be growing. Read then, the ticket would keep
   * its first part, and the move to cur/ would not stop the writer. Such a file is read once no
   * write to it was seen for WRITE_QUIET_MS. A file renamed into new/ is never written there:
   * it is read at once. Only the last WRITE_QUIET_MS are kept.
   */
  const written = new Map<string, number>();
  /** In how many ms a scan is due for what this one left: a file being written that will have gone quiet, or cur/ touched too soon after its last look. */
  let settleIn = Infinity;

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
    settleIn = Infinity;
    const now = Date.now();
    for (const [key, at] of written) if (now - at >= WRITE_QUIET_MS) written.delete(key);
    let entries: Dirent<Buffer>[];
    try {
      entries = listEntries(newDir);
    } catch (err) {
      fail(`cannot read ${newDir}: ${errorMessage(err)}`, err);
      return;
    }
    let junkNames: Buffer[] = [];
    let curNames: Buffer[] = [];
    /** A folder's own report stays while the folder cannot be read, as an entry's while it waits. */
    const folderReports: string[] = [];
    try {
      if (junk) junkNames = await junkWaiting(junk);
    } catch (err) {
      folderReports.push(JUNK_FOLDER_KEY);
      // The inbox is read all the same; the junk folder is tried again on the next scan.
      report(JUNK_FOLDER_KEY, `cannot read the junk folder ${junk?.newDir}: ${errorMessage(err)}; tried again on every scan`);
    }
    try {
      curNames = await curWaiting();
    } catch (err) {
      folderReports.push(CUR_FOLDER_KEY);
      report(CUR_FOLDER_KEY, `cannot read ${curDir}: ${errorMessage(err)}; tried again on the next periodic scan`);
    }
    const names = entries.map((e) => e.name).sort(Buffer.compare);
    // The backlog is the files waiting: a FIFO, directory or symlink is never a message and
    // stays in new/ (reported below), so it does not count. Every name is still offered:
    // readEntry decides on what it opens, not on this listing.
    state.recordCheck(id, entries.filter((e) => e.isFile()).length + curNames.length, Date.now());
    const present = new Set([
      ...names.map((n) => `${inbox.label}/${shownName(n)}`),
      ...curNames.map((n) => `${inboxCur.label}/${shownName(n)}`),
      ...(junk ? junkNames.map((n) => `${junk.label}/${shownName(n)}`) : []),
      ...folderReports,
      // Cleared by the look for staff's moves itself, which is not on every scan.
      JUNK_MOVES_KEY,
    ]);
    for (const name of unreadable.keys()) if (!present.has(name)) unreadable.delete(name);
    if (!intake) return;
    const pass = await intake.run(chain(deliveries(inbox, names), deliveries(inboxCur, curNames), junk ? deliveries(junk, junkNames) : []));
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
    // After the pass: a message the desk just moved into the junk folder's cur/ is one it took.
    // A junk folder that cannot be read is reported once, above.
    if (moves && !folderReports.includes(JUNK_FOLDER_KEY)) {
      try {
        await moves.look();
        unreadable.delete(JUNK_MOVES_KEY);
      } catch (err) {
        // The inbox is read all the same; what was not learnt is looked at again next time.
        report(JUNK_MOVES_KEY, `cannot learn from the junk folder ${options.junk}: ${errorMessage(err)}; tried again every junkScanInterval`);
      }
    }
    // A file left because it was being written is read once it has gone quiet.
    schedule(Math.min(options.pollIntervalMs, settleIn));
  };

  /** Records the failure and tries again with backoff, for as long as it takes. */
  const fail = (message: string, err: unknown) => {
    const delay = backoffDelay(failures++, options.retryBaseMs ?? 1000, options.retryMaxMs ?? 5 * 60_000);
    log.error({ err, dir, retryInMs: delay }, `${message}; will retry`);
    state.recordError(id, message, Date.now());
    state.recordState(id, 'failing', Date.now());
    schedule(delay);
  };

  /**
   * The names waiting in the inbox's cur/, looked at on the periodic scan (and the first), and
   * within CUR_TOUCHED_MS of the watch seeing a file arrive there (watchCur): mail
   * that reached cur/ without the desk taking it. A mail client or IMAP server opening the
   * Maildir (Dovecot serving the support account to staff) moves what waits in new/ to cur/ as
   * it looks, and a delivery agent that files mail with flags (Sieve `addflag`) puts it there
   * directly. Such a file keeps the mtime of its delivery. So: a file in cur/ delivered after
   * the desk's first look at cur/ (`<id>#cur`, whose lastUid holds that time in ms) whose
   * position (its name without flags, as it was in new/) the desk has no inbound row for is
   * waiting; it is taken where it is (not moved: staff may be reading it). What cur/ held at the
   * first look, and anything delivered before it, is older than the desk. Positions found
   * settled are kept in memory while their file is in cur/, so each file costs one stat and
   * one lookup per run.
   */
  const curWaiting = async (): Promise<Buffer[]> => {
    const now = Date.now();
    const since = now - curScannedAt;
    if (since < options.pollIntervalMs && !(curTouched && since >= CUR_TOUCHED_MS)) {
      if (curTouched) settleIn = Math.min(settleIn, CUR_TOUCHED_MS - since);
      return [];
    }
    curTouched = false;
    curScannedAt = now;
    if (curSince === null) {
      const saved = await options.state.get(curKey);
      if (saved?.uidValidity === CUR_LOOKED) curSince = saved.lastUid;
      else {
        await options.state.savePosition(curKey, CUR_LOOKED, now);
        curSince = now;
        log.info({ folder: curDir }, 'first look at cur/: what it holds is older than the desk; mail that reaches it later without the desk taking it is read');
      }
    }
    const fresh = new Map<string, Buffer>();
    const listed = new Set<string>();
    for (const e of listEntries(curDir)) {
      if (!e.isFile()) continue;
      const position = shownName(withoutInfo(e.name));
      listed.add(position);
      if (settledCur.has(position)) continue;
      let delivered: number;
      try {
        delivered = statSync(childPath(curDir, e.name)).mtimeMs;
      } catch {
        continue; // gone meanwhile (a client expunged or renamed it): seen on the next scan if renamed
      }
      if (delivered <= curSince) settledCur.add(position);
      else fresh.set(position, e.name);
    }
    // What staff expunged from cur/ is forgotten: the set holds at most what cur/ holds.
    for (const position of settledCur) if (!listed.has(position)) settledCur.delete(position);
    if (fresh.size === 0) return [];
    const taken = await options.state.taken(`maildir:${id}`, [...fresh.keys()]);
    const waiting: Buffer[] = [];
    for (const [position, name] of fresh) {
      if (taken.has(position)) settledCur.add(position);
      else waiting.push(name);
    }
    if (waiting.length > 0) log.warn({ folder: curDir, count: waiting.length }, 'mail in cur/ the desk never took (moved there by a mail client or IMAP server, or delivered there): taken now, where it is');
    return waiting.sort(Buffer.compare);
  };

  /**
   * The names waiting in the junk folder's new/. At the desk's first look (`<id>#junk` not
   * JUNK_READ: never looked at, or not read since readJunk was last off; whether or not the
   * folder exists then) what it holds is older than the desk and taken by nobody: it is moved to
   * cur/ unread, as a mail client's first look moves it, and from then on whatever the mail
   * server files there is new. A folder that does not exist has nothing.
   */
  const junkWaiting = async (folder: Folder): Promise<Buffer[]> => {
    if (!junkLooked && (await options.state.get(junkKey))?.uidValidity !== JUNK_READ) {
      let older = 0;
      if (existsSync(folder.newDir)) {
        mkdirSync(folder.curDir, { recursive: true });
        for (const e of listEntries(folder.newDir)) {
          if (!e.isFile()) continue;
          folder.ack(e.name);
          older++;
        }
      }
      await options.state.savePosition(junkKey, JUNK_READ, 0);
      log.info({ folder: folder.newDir, older }, 'first look at the junk folder: what it holds is older than the desk and is left unread in cur/');
    }
    junkLooked = true;
    if (!existsSync(folder.newDir)) return [];
    // Watched from the first scan that finds it: a folder the delivery agent makes with its
    // first spam, after the desk started, is not left to the periodic scan for good.
    if (!junkWatched) junkWatched = watchNew(folder.newDir);
    mkdirSync(folder.curDir, { recursive: true });
    return listEntries(folder.newDir)
      .map((e) => e.name)
      .sort(Buffer.compare);
  };

  /** Scans soon after anything changes in a new/ folder (the periodic scan stays as a safety net); false once stopping (nothing watched). */
  const watchNew = (folder: string): boolean =>
    watchFolder(folder, (event, name) => {
      // A write (or an attribute change) is a 'change'; a file renamed in, created or moved
      // out is a 'rename'.
      if (event === 'change' && name) written.set(writtenKey(folder, name), Date.now());
      return true;
    });

  /**
   * Looks at cur/ soon after a file arrives there or is renamed (a flag changed): an IMAP
   * session that staff keep open on the Maildir (IDLE) moves new mail from new/ to cur/ as
   * soon as it is delivered, often before the desk's scan of new/ (measured with Dovecot 2.3:
   * one message in six), which left it to the periodic scan, a minute later.
   */
  const watchCur = (): boolean =>
    watchFolder(curDir, (event, name) => {
      // A settled file (the desk's own move from new/, or one older than the desk, whose flags
      // staff changed) is nothing to take.
      if (event !== 'rename' || (name && settledCur.has(shownName(withoutInfo(name))))) return false;
      curTouched = true;
      return true;
    });

  /** Watches a folder; `onEvent` says whether the event calls for a scan. */
  const watchFolder = (folder: string, onEvent: (event: string, name: Buffer | null) => boolean): boolean => {
    if (stopping) return false;
    try {
      const w = watch(folder, { encoding: 'buffer' }, (event, name) => {
        // Many events arrive per delivery (tmp → new rename); a short delay folds them.
        if (onEvent(event, name)) schedule(50);
      });
      w.on('error', (err) => log.warn({ err, folder }, 'maildir watch failed; relying on periodic scans'));
      watchers.push(w);
    } catch (err) {
      // No inotify watch left (fs.inotify.max_user_watches), say: the periodic scan still reads it.
      log.warn({ err, folder }, 'cannot watch the maildir folder; relying on periodic scans');
    }
    return true;
  };

  /** A folder's messages in new/ in name order, read as they are needed; each acknowledged by its move to cur/. */
  function* deliveries(folder: Folder, names: Buffer[]): Generator<Delivery> {
    for (const bytes of names) {
      if (stopping) return;
      const file = childPath(folder.newDir, bytes);
      const name = `${folder.label}/${shownName(bytes)}`;
      const at = { source: `maildir:${id}`, position: folder.position(bytes), mailbox: id, ...(folder.filedAsJunk ? { filedAsJunk: folder.filedAsJunk } : {}) };
      const quietFor = Date.now() - (written.get(writtenKey(folder.newDir, bytes)) ?? -Infinity);
      if (quietFor < WRITE_QUIET_MS) {
        log.debug({ dir, entry: name }, 'file being written in new/; read once it has gone quiet');
        settleIn = Math.min(settleIn, WRITE_QUIET_MS - quietFor);
        continue;
      }
      let raw: RawMessage;
      try {
        const entry = readEntry(file, options.maxMessageSize);
        if ('notMail' in entry) {
          report(name, `${name} is ${entry.notMail}, not a message file; left where it is`);
          continue;
        }
        if ('oversized' in entry && folder.filedAsJunk) {
          // Neither a ticket nor a lesson (in the inbox it would be quarantined and kept): seen, left unread.
          log.warn({ dir, entry: name, size: entry.oversized }, 'junk folder message over limits.maxMessageSize; moved to cur/ unread, not read');
          folder.ack(bytes);
          continue;
        }
        // A file too big to be a message is never read into memory: the intake copies it into
        // the store as it streams by, and quarantines it.
        raw = 'bytes' in entry ? { ...at, bytes: entry.bytes } : { ...at, bytes: EMPTY, oversized: { file, size: entry.oversized } };
      } catch (err) {
        // Gone already (another reader) or unreadable (permissions): tried again on every scan.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') report(name, `cannot read ${name}: ${errorMessage(err)}; tried again on every scan`);
        continue;
      }
      yield {
        raw,
        ack: async (result) => {
          // Not for the junk folder's own: a message that turns up there is not leaving it.
          if (result.outcome === 'duplicate' && options.onDuplicate && !folder.filedAsJunk && !raw.oversized) await options.onDuplicate(raw.bytes, raw.source, raw.position as string);
          folder.ack(bytes);
        },
      };
    }
  }

  /** Logs and records (for `helpdesk status`) why an entry of new/ was not offered, once per entry and reason. */
  const report = (name: string, why: string) => {
    if (unreadable.get(name) === why) return;
    unreadable.set(name, why);
    log.warn({ dir, entry: name }, why);
    state.recordError(id, why, Date.now());
  };

  return {
    id,
    async start(i) {
      intake = i;
      for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
      // Not read now: what is filed there meanwhile is not waiting for the desk, so turning
      // readJunk on again makes a first look, not a backlog of every spam filed in between.
      try {
        if (!junk && (await options.state.get(junkKey))?.uidValidity === JUNK_READ) await options.state.savePosition(junkKey, 'not read', 0);
      } catch (err) {
        log.warn({ err }, 'cannot note that the junk folder is not read; turning readJunk on again will take what is filed there meanwhile');
      }
      // Likewise for staff's moves while learning is off.
      if (!moves) {
        try {
          await forgetJunkMoves(options.state, id);
        } catch (err) {
          log.warn({ err }, 'cannot note that staff moves into the junk folder are not learnt; turning learning on again will learn what they moved meanwhile');
        }
      }
      watchNew(newDir);
      watchCur();
      state.recordState(id, 'watching', Date.now());
      log.info({ dir }, 'maildir source started');
      await trigger();
    },
    async stop() {
      stopping = true;
      for (const w of watchers) w.close();
      if (timer) clearTimeout(timer);
      await running;
      state.recordState(id, 'stopped', Date.now());
      log.info('maildir source stopped');
    },
  };
}

/**
 * How long a file written in new/ itself must go unwritten before it is read (see `written`),
 * as chokidar's awaitWriteFinish waits for a file's size to hold still (2 s there, polled).
 * (A writer shows only through these events: fs.watch reports no close, and the kernel's
 * leases, which would, are not in node.)
 */
const WRITE_QUIET_MS = 1000;
/** cur/ is looked at at most this often for its watch's events (a desk taking mail moves files there all the time). */
const CUR_TOUCHED_MS = 1000;
const writtenKey = (folder: string, name: Buffer) => `${folder}\0${name.toString('latin1')}`;



/** The junk folder (Maildir++ `.<name>` under the Maildir): its files are moved to cur/ unread. */
function junkFolder(folder: string, name: string): Folder {
  const newDir = path.join(folder, 'new');
  const curDir = path.join(folder, 'cur');
  return { newDir, curDir, label: `.${name}/new`, position: (n) => `${JUNK_POSITION}${shownName(n)}`, filedAsJunk: name, ack: (n) => moveToCur(curDir, newDir, n, UNREAD) };
}

/** Moves a message from new/ to cur/, adding `flags` to a name that has none. */
function moveToCur(curDir: string, newDir: string, name: Buffer, flags: Buffer): void {
  const flagged = name.includes(':2,') ? name : Buffer.concat([name, flags]);
  renameSync(childPath(newDir, name), childPath(curDir, flagged));
}

function* chain<T>(...all: Iterable<T>[]): Generator<T> {
  for (const items of all) yield* items;
}
