import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImapConfig, MailboxConfig } from '../config/schema';
import { backoffDelay, sleep } from '../lib/backoff';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Delivery, Intake } from '../intake/intake';
import { Headers } from '@zone-eu/mailsplit';
import { firstMessageId, headerEnd } from '../pipeline/stages/parse';
import { JUNK_POSITION, type DeskCopyHeld, type IngestResult, type RawMessage } from '../pipeline/types';
import { bestEffort, type SourceState } from '../store/mailbox-state';
import { imapFlowConnector, type ImapConnection, type ImapConnector } from './imap-connection';
import { unfetchedMessages } from './unfetched';
import type { Source } from './source';

export interface ImapSourceOptions {
  mailbox: MailboxConfig & { imap: ImapConfig };
  state: SourceState;
  log: Logger;
  /** A mailbox without a successful check for this long is an incident (logged once). */
  alertAfterMs: number;
  /** Called once per incident, when the mailbox becomes unhealthy (the alert mail). */
  onUnhealthy?: (incident: { mailbox: string; since: number; error: string }) => void;
  /** Messages fetched per round trip; bounds memory whatever the backlog. */
  batchSize?: number;
  /** Called for each message that appears in the junk folder (staff teaching the spam filter). */
  learnJunk?: (bytes: Buffer, deskCopyHeld?: DeskCopyHeld) => Promise<string>;
  /** How often the junk folder is looked at, at most. */
  junkScanEveryMs?: number;
  /** Called for a message the pipeline found to be a duplicate (it may have left the junk folder). */
  onDuplicate?: (bytes: Buffer, source: string, position: string) => Promise<unknown>;
  now?: () => number;
  /** The first reconnect after a failed session waits up to this long, each further one twice as long (up to `retryMaxMs`). */
  retryBaseMs?: number;
  /** The longest wait between reconnects (5 minutes). */
  retryMaxMs?: number;
  /** limits.maxMessageSize: a bigger message is streamed to a file, never held in memory, and quarantined. */
  maxMessageSize?: number;
  /** How connections are opened; default: ImapFlow with the mailbox's settings (tests give a fake). */
  connect?: ImapConnector;
}

/**
 * The states of one mailbox's loop, as `helpdesk status` shows them. Every transition is made
 * in `step` below, and nowhere else.
 *   connecting  → processing (connected, folders made, inbox selected) | failing
 *   processing  → idle (inbox drained, junk folder looked at) | failing | stopped
 *   idle        → processing (new mail, or the poll interval passed) | failing | stopped
 *   failing     → connecting (after the backoff) | stopped
 */
export const IMAP_STATES = ['connecting', 'processing', 'idle', 'failing', 'stopped'] as const;
export type ImapState = (typeof IMAP_STATES)[number];

/** Messages up to this size are fetched in batches (`batchSize`); a bigger one alone, so that a batch holds at most about batchSize × this in memory. */
const FETCH_TOGETHER_BELOW = 1024 * 1024;

type Bucket = 'processed' | 'junk' | 'quarantine';
type Buckets = Record<Bucket, number[]>;
const noBuckets = (): Buckets => ({ processed: [], junk: [], quarantine: [] });
const bucketOf = (result: IngestResult): Bucket => (result.outcome === 'quarantined' ? 'quarantine' : result.spam === 'spam' ? 'junk' : 'processed');

/** Where the inbox is done: its UIDVALIDITY and the last acknowledged UID. */
interface Position {
  uidValidity: string;
  lastUid: number;
}

/**
 * One supervised loop per IMAP mailbox (STYLE 9: reconnecting is our job). A session
 * connects, selects the inbox, offers what waits to the intake in UID order, then waits for
 * the server's EXISTS (IDLE) or the poll interval. A message is acknowledged (moved, flagged
 * or deleted) only after the intake made its batch durable; a crash in between leaves it in
 * the inbox, and dedup records it as a duplicate next time, which is then acknowledged too.
 * Any error ends the session; the loop reconnects with capped exponential backoff and jitter.
 */
export function imapSource(options: ImapSourceOptions): Source {
  const { mailbox, log } = options;
  const state = bestEffort(options.state, log);
  const id = mailbox.id;
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 25;
  const connect = options.connect ?? imapFlowConnector(mailbox.imap, log);
  const stopController = new AbortController();
  const stopping = () => stopController.signal.aborted;

  // The loop's context: the connection of the session in hand and what it knows.
  let intake: Intake | null = null;
  let loop: Promise<void> | null = null;
  let conn: ImapConnection | null = null;
  let position: Position | null = null;
  /** The server told of new mail since the last search. */
  let notified = false;
  /** Ends the wait of `idle` early (news, a closed connection, stop). */
  let wake: (() => void) | null = null;
  /** Why the session failed, for `failing`. */
  let failure: unknown = null;
  let attempt = 0;
  let failingSince: number | null = null;
  let alerted = false;
  let junkScannedAt = -Infinity;
  /** The junk folder is looked at to learn staff's moves there, or to take what the server filed there (scanJunk). */
  const scansJunk = !!options.learnJunk || mailbox.readJunk;
  /** The junk folder's own position in the mailbox state. */
  const junkKey = `${id}#junk`;
  const junkScanEveryMs = options.junkScanEveryMs ?? 60_000;
  /** Messages of the inbox and of the junk folder that the server would not give. */
  const unfetched = unfetchedMessages({ folder: mailbox.folders.inbox, log, now, stopping });
  const junkUnfetched = unfetchedMessages({ folder: mailbox.folders.junk, log, now, stopping });

  const folderFor = (bucket: Bucket): string => mailbox.folders[bucket];

  /** The one place where the loop moves from one state to the next. */
  const step = async (current: ImapState): Promise<ImapState> => {
    if (stopping() && current !== 'stopped') return 'stopped';
    try {
      switch (current) {
        case 'connecting':
          await openSession();
          return 'processing';
        case 'processing':
          await drain();
          await scanJunk();
          return stopping() ? 'stopped' : notified ? 'processing' : 'idle';
        case 'idle':
          await waitForNews(scansJunk ? Math.min(mailbox.pollInterval, junkScanEveryMs) : mailbox.pollInterval);
          if (stopping()) return 'stopped';
          if (!conn?.usable) throw new Error('connection closed by the server');
          return 'processing';
        case 'failing':
          await closeSession();
          {
            const delay = backoffDelay(attempt++, options.retryBaseMs ?? 1000, options.retryMaxMs ?? 5 * 60_000);
            recordFailure(delay);
            await sleep(delay, stopController.signal);
          }
          return stopping() ? 'stopped' : 'connecting';
        case 'stopped':
          return 'stopped';
      }
    } catch (err) {
      if (stopping()) return 'stopped';
      failure = err;
      return 'failing';
    }
  };

  const run = async () => {
    let current: ImapState = 'connecting';
    state.recordState(id, current, now());
    while (current !== 'stopped') {
      const next = await step(current);
      if (next !== current || next === 'processing') state.recordState(id, next, now());
      current = next;
    }
    await closeSession();
  };

  const openSession = async () => {
    notified = false;
    conn = await connect({
      news: () => {
        notified = true;
        wake?.();
      },
      closed: () => wake?.(),
    });
    const needed = new Set<string>([folderFor('quarantine'), folderFor('junk')]);
    if (mailbox.ack === 'move') needed.add(folderFor('processed'));
    for (const folder of needed) await conn.createFolder(folder);
    const { uidValidity } = await conn.select(mailbox.folders.inbox);
    const saved = await options.state.get(id);
    position = { uidValidity, lastUid: saved?.lastUid ?? 0 };
    if (saved?.uidValidity && saved.uidValidity !== uidValidity) {
      // The folder was recreated or renumbered: UIDs mean nothing any more. Rescan it all;
      // dedup recognises what was processed before.
      log.warn({ before: saved.uidValidity, now: uidValidity }, 'UIDVALIDITY changed; rescanning the folder');
      position.lastUid = 0;
    }
    await options.state.savePosition(id, uidValidity, position.lastUid);
    // A junk folder nobody scans now (readJunk and learning both off) has no position that
    // moves: turned on again, it makes a first look instead of taking every spam filed meanwhile.
    if (!scansJunk && (await options.state.get(junkKey))?.uidValidity) await options.state.savePosition(junkKey, null, 0);
    unfetched.belongTo(uidValidity);
    log.info({ host: mailbox.imap.host, folder: mailbox.folders.inbox, uidValidity, lastUid: position.lastUid }, 'imap mailbox opened');
  };

  const closeSession = async () => {
    const c = conn;
    conn = null;
    wake = null;
    if (!c) return;
    await Promise.race([c.logout().catch(() => undefined), sleep(2000)]);
    c.close();
  };

  /** Offers everything waiting to the intake; returns when a search finds nothing new, or on stop. */
  const drain = async () => {
    const c = conn as ImapConnection;
    const at = position as Position;
    for (;;) {
      // Dovecot may report EXISTS together with the answer to a SEARCH that did not yet see
      // the new message; a notification during a drain means "look again".
      notified = false;
      // With move/delete, whatever is still in the inbox is unprocessed (or unacknowledged);
      // with flag, processed mail stays, so only UIDs above the last acknowledged one count.
      const found = await c.search(mailbox.ack === 'flag' ? at.lastUid : undefined);
      const uids = unfetched.waiting(found);
      log.debug({ waiting: found.length, lastUid: at.lastUid }, 'inbox checked');
      state.recordCheck(id, found.length, now());
      // Healthy once everything waiting was taken (or once a pass was, below): a session that
      // fails the same way after every search (a message it cannot move) keeps backing off and
      // raises the alert.
      if (uids.length === 0) healthy();
      if (uids.length === 0 || stopping() || !intake) return;
      // The intake calls a delivery's ack once its batch is durable; the acks of a batch are
      // gathered by where the messages go and sent as one command each, behind the next fetch
      // (commands go one at a time), while the intake goes on with the next batch. Each
      // batch's commands have finished before the next batch's are sent.
      let buckets = noBuckets();
      let acknowledging: Promise<void> = Promise.resolve();
      const spools: string[] = [];
      let pass;
      try {
        pass = await intake.run(deliveries(c, uids, spools, (uid, result) => buckets[bucketOf(result)].push(uid)), {
          afterAcks: () => {
            const batch = buckets;
            buckets = noBuckets();
            acknowledging = acknowledging.then(() => acknowledge(c, batch, at));
            // Awaited below; a failure must not count as unhandled meanwhile.
            acknowledging.catch(() => undefined);
          },
        });
        await acknowledging;
      } finally {
        for (const dir of spools) rmSync(dir, { recursive: true, force: true });
      }
      if (pass.failure) throw pass.failure;
      // Mail taken and acknowledged: the mailbox works, also while more keeps arriving.
      if (pass.acknowledged > 0) healthy();
      // Loop: the next search records the backlog (0) before the session reports idle.
    }
  };

  /**
   * The messages of `uids`, fetched a batch at a time. One bigger than limits.maxMessageSize is
   * streamed into a temporary file instead, offered as `oversized` (the intake copies it into
   * the store and quarantines it); the folder of such files (in `spools`) is removed by the
   * drain once the intake's pass is over (the intake may still hold messages it parsed ahead
   * when this generator ends).
   */
  async function* deliveries(c: ImapConnection, uids: number[], spools: string[], done: (uid: number, result: IngestResult) => void): AsyncGenerator<Delivery> {
    const { big, large } = await sizes(c);
    const spool = big.size > 0 ? mkdtempSync(path.join(os.tmpdir(), 'helpdesk-imap-')) : null;
    if (spool) spools.push(spool);
    for (const slice of batches(uids, large)) {
      if (stopping()) return;
      const small = slice.filter((u) => !big.has(u));
      // After a batch failed, its messages come one at a time: the one the server cannot give
      // is found, and those before it are offered meanwhile.
      const fetched = await unfetched.fetchTogether(c, small);
      for (const uid of slice) {
        // Stop between messages: the one in hand is always finished and acknowledged.
        if (stopping()) return;
        const at = { source: `imap:${id}`, position: String(uid), mailbox: id };
        let raw: RawMessage;
        if (spool && big.has(uid)) {
          const file = path.join(spool, String(uid));
          if (!(await unfetched.alone(uid, () => c.download(uid, file)))) continue; // gone meanwhile
          raw = { ...at, bytes: Buffer.alloc(0), oversized: { file, size: statSync(file).size } };
        } else {
          const bytes = fetched ? fetched.get(uid) : await unfetched.fetchAlone(c, uid);
          if (!bytes) continue; // gone meanwhile
          raw = { ...at, bytes };
        }
        yield {
          raw,
          ack: async (result) => {
            if (result.outcome === 'duplicate' && options.onDuplicate && !raw.oversized) await options.onDuplicate(raw.bytes, `imap:${id}`, String(uid));
            done(uid, result);
          },
        };
      }
    }
  }

  /**
   * The selected folder's messages over limits.maxMessageSize (`big`: never read into memory),
   * and over FETCH_TOGETHER_BELOW (`large`: fetched alone, so that a batch of 25 never holds 25
   * messages of up to limits.maxMessageSize at once).
   */
  const sizes = async (c: ImapConnection): Promise<{ big: Set<number>; large: Set<number> }> => {
    const big = new Set(options.maxMessageSize === undefined ? [] : await c.largerThan(options.maxMessageSize));
    return { big, large: new Set((await c.largerThan(FETCH_TOGETHER_BELOW)).filter((u) => !big.has(u))) };
  };

  /** `uids` in order, in batches of up to batchSize; a `large` (or big) message is a batch of its own. */
  const batches = function* (uids: number[], alone: Set<number>): Generator<number[]> {
    let batch: number[] = [];
    for (const uid of uids) {
      if (alone.has(uid) || batch.length === batchSize) {
        if (batch.length > 0) yield batch;
        batch = [];
      }
      if (alone.has(uid)) yield [uid];
      else batch.push(uid);
    }
    if (batch.length > 0) yield batch;
  };

  /** Moves (or flags or deletes) a durable batch's UIDs by where they go, then records how far the inbox is done. */
  const acknowledge = async (c: ImapConnection, buckets: Buckets, at: Position) => {
    for (const bucket of ['processed', 'junk', 'quarantine'] as const) {
      const uids = buckets[bucket];
      if (uids.length === 0) continue;
      if (bucket === 'processed' && mailbox.ack === 'delete') await c.remove(uids);
      else if (bucket === 'processed' && mailbox.ack === 'flag') await c.addFlag(uids, '\\Seen');
      else await c.move(uids, folderFor(bucket));
    }
    const done = [...buckets.processed, ...buckets.junk, ...buckets.quarantine];
    if (done.length > 0) {
      at.lastUid = Math.max(at.lastUid, ...done);
      await options.state.savePosition(id, at.uidValidity, at.lastUid);
    }
  };

  /**
   * Looks at what appeared in the junk folder since the last look (its own position is kept as
   * `<id>#junk`), then selects the inbox again. A message staff moved there is learnt as spam
   * (the learn callback; it recognises and skips our own spam moves). A message the desk never
   * read was filed there by the mail server: with `readJunk` it is offered to the intake (and
   * stays where it is), so that a customer the server's filter misjudged is not lost in a folder
   * nobody reads. The first look at a folder (or at one recreated) takes none of what it holds
   * already: that is older than the desk. The position moves past a batch once it is learnt and
   * what it offered is durable.
   */
  const scanJunk = async () => {
    const learn = options.learnJunk;
    const take = mailbox.readJunk ? intake : null;
    if (!scansJunk || now() - junkScannedAt < junkScanEveryMs) return;
    junkScannedAt = now();
    const c = conn as ImapConnection;
    const folder = folderFor('junk');
    const { uidValidity } = await c.select(folder);
    try {
      const saved = await options.state.get(junkKey);
      const firstLook = saved?.uidValidity !== uidValidity;
      let lastUid = firstLook ? 0 : (saved?.lastUid ?? 0);
      junkUnfetched.belongTo(uidValidity);
      const found = junkUnfetched.waiting(await c.search(lastUid));
      // Nothing to learn and nothing to take: the first look only notes where the folder ends.
      const noted = firstLook && !learn ? found.length : 0;
      if (noted > 0) lastUid = found[noted - 1];
      const { big, large } = found.length > noted ? await sizes(c) : { big: new Set<number>(), large: new Set<number>() };
      for (const slice of batches(found.slice(noted), new Set([...big, ...large]))) {
        if (stopping()) break;
        const fetched = await junkUnfetched.fetchTogether(c, slice.filter((u) => !big.has(u)));
        const filed: Delivery[] = [];
        for (const uid of slice) {
          if (big.has(uid)) {
            // Neither a lesson nor a ticket (as in the inbox, it would be quarantined): left there.
            log.warn({ folder, uid }, 'junk folder message over limits.maxMessageSize; left there, not read');
            continue;
          }
          const bytes = fetched ? fetched.get(uid) : await junkUnfetched.fetchAlone(c, uid);
          if (!bytes) continue;
          const learnt = learn ? await learn(bytes, () => stillHeld(c, bytes, folder)) : null;
          const offered = !!take && !firstLook && (learnt === null || learnt === 'never read by the desk');
          log.info({ folder, uid, learnt, offered }, 'junk folder message');
          if (offered) filed.push({ raw: { source: `imap:${id}`, position: `${JUNK_POSITION}${uid}`, mailbox: id, bytes, filedAsJunk: folder }, ack: () => undefined });
        }
        if (take && filed.length > 0) {
          const pass = await take.run(filed);
          if (pass.failure) throw pass.failure;
        }
        lastUid = Math.max(lastUid, ...slice);
        await options.state.savePosition(junkKey, uidValidity, lastUid);
      }
      if (firstLook) await options.state.savePosition(junkKey, uidValidity, lastUid);
    } finally {
      await c.select(mailbox.folders.inbox);
    }
  };

  /**
   * Whether the folder the desk leaves its mail in (Processed with `ack: move`, the inbox with
   * `flag`) still holds a message with this one's Message-ID: then it was filed into the junk
   * folder as a copy (a Sieve `fileinto :copy`), not moved there by staff (spam/junk-folder.ts
   * DeskCopyHeld). Asked only of messages the desk read. With `ack: delete` (or no Message-ID)
   * there is nothing to look for: taken for a move.
   */
  const stillHeld = async (c: ImapConnection, bytes: Buffer, junkFolder: string): Promise<boolean> => {
    const kept = mailbox.ack === 'move' ? folderFor('processed') : mailbox.ack === 'flag' ? mailbox.folders.inbox : null;
    const messageId = messageIdOf(bytes);
    if (!kept || messageId === '') return false;
    await c.select(kept);
    try {
      return await c.holdsMessageId(messageId);
    } finally {
      await c.select(junkFolder);
    }
  };

  /** Resolves on news, a closed connection, stop or after `ms`, leaving no timer or listener behind. */
  const waitForNews = (ms: number) =>
    new Promise<void>((resolve) => {
      if (notified) return resolve();
      const signal = stopController.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      wake = done;
    });

  const healthy = () => {
    if (failingSince !== null && alerted) log.info({ downForMs: now() - failingSince }, 'mailbox recovered');
    failingSince = null;
    alerted = false;
    attempt = 0;
  };

  /** Records why the session failed, and raises the alert once per incident. */
  const recordFailure = (retryInMs: number) => {
    const e = failure as { authenticationFailed?: boolean; responseText?: string } | null;
    const cfg = mailbox.imap;
    const message = e?.authenticationFailed ? `authentication failed for ${cfg.user} at ${cfg.host}:${cfg.port}${e.responseText ? `: ${e.responseText}` : ''}` : errorMessage(failure);
    const at = now();
    state.recordError(id, message, at);
    failingSince ??= at;
    log.error({ error: message, retryInMs, attempt }, 'imap session failed; reconnecting');
    if (!alerted && at - failingSince >= options.alertAfterMs) {
      alerted = true;
      log.error({ alert: true, failingSinceMs: at - failingSince, error: message }, 'mailbox unhealthy: no successful check');
      try {
        options.onUnhealthy?.({ mailbox: id, since: failingSince, error: message });
      } catch (err) {
        log.error({ err }, 'cannot record the unhealthy-mailbox alert');
      }
    }
  };

  return {
    id,
    async start(i) {
      intake = i;
      loop = run();
    },
    async stop() {
      stopController.abort();
      wake?.();
      // The message in hand finishes; a connect or fetch stuck on the network does not get
      // to hold up shutdown: after a grace period the connection is cut.
      const finished = await Promise.race([loop?.then(() => true), sleep(5000).then(() => false)]);
      if (!finished) conn?.close();
      await loop;
      log.info('imap source stopped');
    },
  };
}

/** A raw message's Message-ID (`<…>`, read as the parse stage reads it), or '' without one. */
function messageIdOf(bytes: Buffer): string {
  return firstMessageId(new Headers(bytes.subarray(0, headerEnd(bytes))).getFirst('message-id')) ?? '';
}
