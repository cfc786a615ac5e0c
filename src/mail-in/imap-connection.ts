import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ImapConfig } from '../config/schema';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { readAccessToken } from './access-token';

/**
 * What the IMAP source needs of a server connection, and nothing more: the source's logic
 * (imap.ts) is tested against a fake of this in milliseconds, and against Dovecot through
 * the ImapFlow implementation below.
 */
export interface ImapConnection {
  /** Connected, and not closed by either side. */
  readonly usable: boolean;
  /** Creates a folder; an existing one is fine. */
  createFolder(path: string): Promise<void>;
  /** Selects a folder; resolves to its UIDVALIDITY. */
  select(path: string): Promise<{ uidValidity: string }>;
  /** UIDs in the selected folder, ascending: all of them, or those above `after`. */
  search(after?: number): Promise<number[]>;
  /** UIDs in the selected folder of messages bigger than `bytes`. */
  largerThan(bytes: number): Promise<number[]>;
  /** Whether the selected folder holds a message with this Message-ID. */
  holdsMessageId(messageId: string): Promise<boolean>;
  /** Streams one message's raw bytes into `file` (created), never holding it in memory; false when it is gone. */
  download(uid: number, file: string): Promise<boolean>;
  /** The raw bytes of these UIDs, ascending by UID (a message gone meanwhile is left out). */
  fetch(uids: number[]): Promise<Array<{ uid: number; source: Buffer }>>;
  addFlag(uids: number[], flag: string): Promise<void>;
  move(uids: number[], folder: string): Promise<void>;
  remove(uids: number[]): Promise<void>;
  /** Logs out politely (the caller bounds how long it waits), then close() anyway. */
  logout(): Promise<void>;
  close(): void;
}

/** What the server tells a connection on its own. */
export interface ImapEvents {
  /** New mail arrived in the selected folder (EXISTS, during IDLE or with any answer). */
  news(): void;
  /** The connection closed. */
  closed(): void;
}

/** Opens a connection (connects and logs in); rejects with the server's or network's error. */
export type ImapConnector = (events: ImapEvents) => Promise<ImapConnection>;

/** Connections through ImapFlow, with the mailbox's server, credentials and TLS settings. */
export function imapFlowConnector(cfg: ImapConfig, log: Logger): ImapConnector {
  const options = async (): Promise<ImapFlowOptions> => ({
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
  return async (events) => {
    const client = new ImapFlow(await options());
    client.on('error', (err: Error) => log.warn({ err: errorMessage(err) }, 'imap connection error'));
    client.on('exists', (info: { count: number; prevCount: number }) => {
      log.debug({ count: info.count, prevCount: info.prevCount }, 'new mail notified');
      events.news();
    });
    client.on('close', () => events.closed());
    try {
      await client.connect();
    } catch (err) {
      client.close();
      throw err;
    }
    const range = (uids: number[]) => uids.join(',');
    return {
      get usable() {
        return client.usable;
      },
      async createFolder(path) {
        // mailboxCreate resolves { created: false } for an existing folder.
        await client.mailboxCreate(path);
      },
      async select(path) {
        // No mailbox lock: this connection has one user, and imapflow only starts IDLE on a
        // connection that holds no lock.
        const box = await client.mailboxOpen(path);
        return { uidValidity: String(box.uidValidity) };
      },
      async search(after) {
        const found = await client.search(after === undefined ? { all: true } : { uid: `${after + 1}:*` }, { uid: true });
        // `n:*` always matches the highest UID, even below n.
        return (found || []).filter((u) => after === undefined || u > after).sort((a, b) => a - b);
      },
      async largerThan(bytes) {
        return (await client.search({ larger: bytes }, { uid: true })) || [];
      },
      async holdsMessageId(messageId) {
        return ((await client.search({ header: { 'message-id': messageId } }, { uid: true })) || []).length > 0;
      },
      async download(uid, file) {
        const { content } = await client.download(String(uid), undefined, { uid: true });
        if (!content) return false;
        await pipeline(content, createWriteStream(file, { flags: 'wx' }));
        return true;
      },
      async fetch(uids) {
        const fetched = await client.fetchAll(range(uids), { uid: true, source: true }, { uid: true });
        return fetched
          .filter((m): m is typeof m & { source: Buffer } => !!m.source)
          .map((m) => ({ uid: m.uid, source: m.source }))
          .sort((a, b) => a.uid - b.uid);
      },
      async addFlag(uids, flag) {
        await client.messageFlagsAdd(range(uids), [flag], { uid: true });
      },
      async move(uids, folder) {
        await client.messageMove(range(uids), folder, { uid: true });
      },
      async remove(uids) {
        await client.messageDelete(range(uids), { uid: true });
      },
      async logout() {
        await client.logout();
      },
      close: () => client.close(),
    };
  };
}
