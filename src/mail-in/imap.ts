import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { readFileSync } from 'node:fs';
import type { ImapConfig, MailboxConfig } from '../config/schema';
import { backoffDelay, sleep } from '../lib/backoff';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { Delivery, Intake } from '../intake/intake';
import type { IngestResult } from '../pipeline/types';
import { bestEffort, type MailboxStateStore } from '../store/mailbox-state';
import { readAccessToken } from './access-token';
import type { Source } from './source';

export interface ImapSourceOptions {
  mailbox: MailboxConfig & { imap: ImapConfig };
  state: MailboxStateStore;
  log: Logger;
  /** A mailbox without a successful check for this long is an incident (logged once). */
  alertAfterMs: number;
  /** Called once per incident, when the mailbox becomes unhealthy (the alert mail). */
  onUnhealthy?: (incident: { mailbox: string; since: number; error: string }) => void;
  /** Messages fetched per round trip; bounds memory whatever the backlog. */
  batchSize?: number;
  /** Called for each message that appears in the junk folder (staff teaching the spam filter). */
  learnJunk?: (bytes: Buffer) => Promise<string>;
  /** How often the junk folder is looked at, at most. */
  junkScanEveryMs?: number;
  /** Called for a message the pipeline found to be a duplicate (it may have left the junk folder). */
  onDuplicate?: (bytes: Buffer, source: string, position: string) => Promise<unknown>;
  now?: () => number;
  /** The first reconnect after a failed session waits up to this long, each further one twice as long (up to 5 minutes). */
  retryBaseMs?: number;
}

type Bucket = 'processed' | 'junk' | 'quarantine';

/**
 * One supervised loop per IMAP mailbox (STYLE 9: reconnecting is our job). Each session
 * connects, selects the inbox, drains it in UID order, then waits for the server's EXISTS
 * (IDLE) or the poll interval. A message is acknowledged (moved, flagged or deleted) only
 * after the intake made its batch durable; a crash in between leaves
 * it in the inbox, and dedup records it as a duplicate next time, which is then acknowledged
 * too. Any error ends the session; the loop reconnects with capped exponential backoff and
 * jitter.
 */
export function imapSource(options: ImapSourceOptions): Source {
  const { mailbox, log } = options;
  const state = bestEffort(options.state, log);
  const id = mailbox.id;
  const cfg = mailbox.imap;
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 25;
  const stopController = new AbortController();
  let intake: Intake | null = null;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let failingSince: number | null = null;
  let alerted = false;
  let attempt = 0;
  let current: ImapFlow | null = null;
  let notified = false;

  const setState = (s: string) => state.recordState(id, s, now());

  const clientOptions = async (): Promise<ImapFlowOptions> => ({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    auth: cfg.oauth2 ? { user: cfg.user, accessToken: await readAccessToken(cfg.oauth2) } : { user: cfg.user, pass: cfg.pass as string },
    tls: { rejectUnauthorized: cfg.tls.rejectUnauthorized, ...(cfg.tls.caFile ? { ca: readFileSync(cfg.tls.caFile) } : {}) },
    logger: false,
    // Start IDLE right after each command instead of imapflow's default 15 s, so new mail is
    // seen within the server's own notification delay.
    autoIdleDelay: 50,
    connectionTimeout: 30_000,
    greetingTimeout: 15_000,
    socketTimeout: 5 * 60_000,
  });

  const folderFor = (bucket: Bucket): string => mailbox.folders[bucket];

  /** Acknowledges processed UIDs: move (or flag/delete) them, by where they must go. */
  const acknowledge = async (client: ImapFlow, buckets: Record<Bucket, number[]>) => {
    for (const bucket of ['processed', 'junk', 'quarantine'] as const) {
      const uids = buckets[bucket];
      if (uids.length === 0) continue;
      const range = uids.join(',');
      if (bucket === 'processed' && mailbox.ack !== 'move') {
        if (mailbox.ack === 'delete') await client.messageDelete(range, { uid: true });
        else await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
      } else {
        await client.messageMove(range, folderFor(bucket), { uid: true });
      }
    }
  };

  /** Acknowledges a durable batch, then records how far the inbox is done. */
  const acknowledgeAndRecord = async (client: ImapFlow, buckets: Record<Bucket, number[]>, position: { uidValidity: string; lastUid: number }) => {
    await acknowledge(client, buckets);
    const done = [...buckets.processed, ...buckets.junk, ...buckets.quarantine];
    if (done.length > 0) {
      position.lastUid = Math.max(position.lastUid, ...done);
      state.savePosition(id, position.uidValidity, position.lastUid);
    }
  };

  const bucketOf = (result: IngestResult): Bucket => (result.outcome === 'quarantined' ? 'quarantine' : result.spam === 'spam' ? 'junk' : 'processed');

  /** Processes everything waiting; returns when the inbox has nothing new or on stop. */
  const drain = async (client: ImapFlow, position: { uidValidity: string; lastUid: number }) => {
    for (;;) {
      // With move/delete, whatever is still in the inbox is unprocessed (or unacknowledged);
      // with flag, processed mail stays, so only UIDs above the last acknowledged one count.
      const found = mailbox.ack === 'flag' ? await client.search({ uid: `${position.lastUid + 1}:*` }, { uid: true }) : await client.search({ all: true }, { uid: true });
      const uids = (found || []).filter((u) => mailbox.ack !== 'flag' || u > position.lastUid).sort((a, b) => a - b);
      log.debug({ waiting: uids.length, lastUid: position.lastUid }, 'inbox checked');
      state.recordCheck(id, uids.length, now());
      healthy();
      if (uids.length === 0 || stopController.signal.aborted || !intake) return;
      setState('processing');
      // The intake calls a delivery's ack once its batch is durable; the acks of a batch are
      // gathered by where the messages go and sent as one command each, behind the next fetch
      // (imapflow sends commands one at a time), while the intake goes on with the next batch.
      // Each batch's commands have finished before the next batch's are sent.
      let buckets: Record<Bucket, number[]> = { processed: [], junk: [], quarantine: [] };
      let acknowledging: Promise<void> = Promise.resolve();
      const deliveries = async function* (): AsyncGenerator<Delivery> {
        for (let i = 0; i < uids.length && !stopController.signal.aborted; i += batchSize) {
          const fetched = await client.fetchAll(uids.slice(i, i + batchSize).join(','), { uid: true, source: true }, { uid: true });
          fetched.sort((a, b) => a.uid - b.uid);
          for (const msg of fetched) {
            // Stop between messages: the one in hand is always finished and acknowledged.
            if (stopController.signal.aborted) return;
            const bytes = msg.source;
            if (!bytes) continue;
            yield {
              raw: { bytes, source: `imap:${id}`, position: String(msg.uid), mailbox: id },
              ack: async (result) => {
                if (result.outcome === 'duplicate' && options.onDuplicate) await options.onDuplicate(bytes, `imap:${id}`, String(msg.uid));
                buckets[bucketOf(result)].push(msg.uid);
              },
            };
          }
        }
      };
      const pass = await intake.run(deliveries(), {
        afterAcks: () => {
          const batch = buckets;
          buckets = { processed: [], junk: [], quarantine: [] };
          acknowledging = acknowledging.then(() => acknowledgeAndRecord(client, batch, position));
          // Awaited below; a failure must not count as unhandled meanwhile.
          acknowledging.catch(() => undefined);
        },
      });
      await acknowledging;
      if (pass.failure) throw pass.failure;
      // Loop: the next search records the backlog (0) before the session reports idle.
    }
  };

  let junkScannedAt = -Infinity;

  /**
   * Learns what appeared in the junk folder since the last look (its own position is kept as
   * `<id>#junk`), then selects the inbox again. Our own spam moves show up there too; the
   * learn callback recognises and skips them.
   */
  const scanJunk = async (client: ImapFlow) => {
    const learn = options.learnJunk;
    if (!learn || now() - junkScannedAt < (options.junkScanEveryMs ?? 60_000)) return;
    junkScannedAt = now();
    const key = `${id}#junk`;
    const box = await client.mailboxOpen(folderFor('junk'));
    try {
      const saved = state.get(key);
      const uidValidity = String(box.uidValidity);
      let lastUid = saved?.uidValidity === uidValidity ? saved.lastUid : 0;
      const found = ((await client.search({ uid: `${lastUid + 1}:*` }, { uid: true })) || []).filter((u) => u > lastUid).sort((a, b) => a - b);
      for (let i = 0; i < found.length && !stopController.signal.aborted; i += batchSize) {
        for (const msg of await client.fetchAll(found.slice(i, i + batchSize).join(','), { uid: true, source: true }, { uid: true })) {
          if (msg.source) log.info({ folder: folderFor('junk'), uid: msg.uid, learnt: await learn(msg.source) }, 'junk folder message');
          lastUid = Math.max(lastUid, msg.uid);
        }
        state.savePosition(key, uidValidity, lastUid);
      }
      if (!saved || saved.uidValidity !== uidValidity) state.savePosition(key, uidValidity, lastUid);
    } finally {
      await client.mailboxOpen(mailbox.folders.inbox);
    }
  };

  const ensureFolders = async (client: ImapFlow) => {
    const needed = new Set<string>([folderFor('quarantine'), folderFor('junk')]);
    if (mailbox.ack === 'move') needed.add(folderFor('processed'));
    // mailboxCreate resolves { created: false } for an existing folder.
    for (const folder of needed) await client.mailboxCreate(folder);
  };

  const session = async () => {
    setState('connecting');
    const client = new ImapFlow(await clientOptions());
    current = client;
    client.on('error', (err: Error) => log.warn({ err: errorMessage(err) }, 'imap connection error'));
    client.on('exists', (info: { count: number; prevCount: number }) => {
      log.debug({ count: info.count, prevCount: info.prevCount }, 'new mail notified');
      notified = true;
      wake?.();
    });
    client.on('close', () => wake?.());
    try {
      await client.connect();
      await ensureFolders(client);
      // No mailbox lock: this connection has one user, and imapflow only starts IDLE on a
      // connection that holds no lock.
      const box = await client.mailboxOpen(mailbox.folders.inbox);
      {
        const uidValidity = String(box.uidValidity);
        const saved = state.get(id);
        const position = { uidValidity, lastUid: saved?.lastUid ?? 0 };
        if (saved?.uidValidity && saved.uidValidity !== uidValidity) {
          // The folder was recreated or renumbered: UIDs mean nothing any more. Rescan it all;
          // dedup recognises what was processed before.
          log.warn({ before: saved.uidValidity, now: uidValidity }, 'UIDVALIDITY changed; rescanning the folder');
          position.lastUid = 0;
        }
        state.savePosition(id, uidValidity, position.lastUid);
        log.info({ host: cfg.host, folder: mailbox.folders.inbox, uidValidity, lastUid: position.lastUid }, 'imap mailbox opened');
        while (!stopController.signal.aborted) {
          // Dovecot may report EXISTS together with the answer to a SEARCH that did not yet
          // see the new message; a notification during a drain means "look again".
          notified = false;
          await drain(client, position);
          await scanJunk(client);
          if (stopController.signal.aborted) break;
          if (notified) continue;
          setState('idle');
          await waitForNews(options.learnJunk ? Math.min(mailbox.pollInterval, options.junkScanEveryMs ?? 60_000) : mailbox.pollInterval);
          if (!client.usable) throw new Error('connection closed by the server');
        }
      }
    } finally {
      wake = null;
      await Promise.race([client.logout().catch(() => undefined), sleep(2000)]);
      client.close();
      current = null;
    }
  };

  /** Resolves on EXISTS, connection close, stop or after `ms`, leaving no timer or listener behind. */
  const waitForNews = (ms: number) =>
    new Promise<void>((resolve) => {
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

  const failed = (err: unknown) => {
    const e = err as { authenticationFailed?: boolean; responseText?: string; code?: string };
    const message = e?.authenticationFailed ? `authentication failed for ${cfg.user} at ${cfg.host}:${cfg.port}${e.responseText ? `: ${e.responseText}` : ''}` : errorMessage(err);
    const at = now();
    state.recordError(id, message, at);
    setState('failing');
    failingSince ??= at;
    if (!alerted && at - failingSince >= options.alertAfterMs) {
      alerted = true;
      log.error({ alert: true, failingSinceMs: at - failingSince, error: message }, 'mailbox unhealthy: no successful check');
      try {
        options.onUnhealthy?.({ mailbox: id, since: failingSince, error: message });
      } catch (err) {
        log.error({ err }, 'cannot record the unhealthy-mailbox alert');
      }
    }
    return message;
  };

  const run = async () => {
    while (!stopController.signal.aborted) {
      try {
        await session();
      } catch (err) {
        if (stopController.signal.aborted) break;
        const message = failed(err);
        const delay = backoffDelay(attempt++, options.retryBaseMs ?? 1000, 5 * 60_000);
        log.error({ error: message, retryInMs: delay, attempt }, 'imap session failed; reconnecting');
        await sleep(delay, stopController.signal);
      }
    }
    setState('stopped');
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
      if (!finished) current?.close();
      await loop;
      log.info('imap source stopped');
    },
  };
}
