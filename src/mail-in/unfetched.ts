import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import type { ImapConnection } from './imap-connection';

/** How long a message the server would not give is left before it is fetched again. */
export const UNFETCHED_RETRY_MS = 60 * 60_000;

/**
 * The messages of one IMAP folder that the server would not give (a FETCH refused, or the
 * connection dropped, as Dovecot does when it cannot read a message file), so that one of them
 * holds up none of the mail after it. The UIDs of a batch whose fetch failed are fetched one
 * at a time next; one that fails alone twice is left where it is, reported, and skipped for
 * UNFETCHED_RETRY_MS, then fetched alone again (skipped again after one more failure).
 */
export interface UnfetchedMessages {
  /** Forgets everything when the folder's UIDVALIDITY is not the one the UIDs belong to. */
  belongTo(uidValidity: string): void;
  /** The UIDs to take, ascending: those found, and those skipped whose time has come, less those still skipped. */
  waiting(found: number[]): number[];
  /**
   * The raw bytes of `uids` by UID, fetched together (a message gone meanwhile is missing), or
   * null when one of them failed before: then each is fetched with `fetchAlone` as it is taken.
   */
  fetchTogether(c: ImapConnection, uids: number[]): Promise<Map<number, Buffer> | null>;
  /** One message's bytes, undefined when it is gone. */
  fetchAlone(c: ImapConnection, uid: number): Promise<Buffer | undefined>;
  /** Runs `get` for one message (a fetch or download); throws, with the reason once it is skipped, when the server fails it. */
  alone<T>(uid: number, get: () => Promise<T>): Promise<T>;
}

export function unfetchedMessages(options: { folder: string; log: Logger; now: () => number; stopping: () => boolean }): UnfetchedMessages {
  const { folder, log, now } = options;
  let uidsOf = '';
  const suspects = new Set<number>();
  const failedAlone = new Map<number, number>();
  /** UID → when it is tried again. */
  const skipped = new Map<number, number>();

  const alone = async <T>(uid: number, get: () => Promise<T>): Promise<T> => {
    try {
      const got = await get();
      suspects.delete(uid);
      failedAlone.delete(uid);
      return got;
    } catch (err) {
      if (options.stopping()) throw err;
      const times = (failedAlone.get(uid) ?? 0) + 1;
      if (times < 2) {
        failedAlone.set(uid, times);
        suspects.add(uid);
        throw err;
      }
      failedAlone.delete(uid);
      suspects.delete(uid);
      skipped.set(uid, now() + UNFETCHED_RETRY_MS);
      const why = `the server did not give message UID ${uid} of ${folder} (twice: ${errorMessage(err)}); it stays there and is tried again in ${UNFETCHED_RETRY_MS / 60_000} minutes, while the mail after it is taken`;
      log.warn({ folder, uid, error: errorMessage(err) }, why);
      // The session fails with the reason (`helpdesk status` shows it) and reconnects: the
      // server may have closed the connection.
      throw new Error(why, { cause: err });
    }
  };
  const fetchAlone = (c: ImapConnection, uid: number) => alone(uid, async () => (await c.fetch([uid]))[0]?.source);

  return {
    belongTo(uidValidity) {
      if (uidsOf === uidValidity) return;
      uidsOf = uidValidity;
      suspects.clear();
      failedAlone.clear();
      skipped.clear();
    },
    waiting(found) {
      for (const [uid, retryAt] of skipped) {
        if (retryAt > now()) continue;
        skipped.delete(uid);
        suspects.add(uid);
        failedAlone.set(uid, 1);
        found = [...found, uid];
      }
      return [...new Set(found)].filter((u) => !skipped.has(u)).sort((a, b) => a - b);
    },
    async fetchTogether(c, uids) {
      if (uids.some((u) => suspects.has(u))) return null;
      if (uids.length === 0) return new Map();
      if (uids.length === 1) {
        const bytes = await fetchAlone(c, uids[0]);
        return new Map(bytes ? [[uids[0], bytes]] : []);
      }
      try {
        return new Map((await c.fetch(uids)).map((m) => [m.uid, m.source]));
      } catch (err) {
        if (!options.stopping()) for (const u of uids) suspects.add(u);
        throw err;
      }
    },
    fetchAlone,
    alone,
  };
}
