import { statSync } from 'node:fs';
import path from 'node:path';
import { childPath, shownName } from '../lib/byte-names';
import type { Logger } from '../lib/log';
import type { DeskCopyHeld } from '../pipeline/types';
import type { SourceState } from '../store/mailbox-state';
import { listEntries, readEntry, withoutInfo } from './maildir-files';

/** The state of the look for staff's moves (`<id>#junk-moves`, in the column IMAP keeps UIDVALIDITY in; lastUid: the time, in ms, files changed after are new). */
const MOVES_SINCE = 'maildir: moves since';
const MOVES_NOT_LEARNT = 'not learnt';
/**
 * How far before a look's start the next one looks again. A file's ctime comes from the
 * kernel's coarse clock, a few ms behind Date.now(): a file linked right after a look began
 * can carry a ctime just before it. Files seen twice are learnt once (`seen`), and learning a
 * message again changes nothing.
 */
const CTIME_MARGIN_MS = 1000;

export interface JunkMovesOptions {
  /** The mailbox's id; its state is kept as `<id>#junk-moves`. */
  id: string;
  /** The junk folder: `<maildir>/.<name>` (Maildir++). */
  folder: string;
  /** The Maildir itself: where the desk leaves what it takes from the inbox (cur/). */
  inbox: string;
  state: SourceState;
  /** Learns one message found there (spam/junk-folder.ts learnJunkFound), asking whether the desk's copy is still in the inbox; says what came of it. */
  learn: (bytes: Buffer, deskCopyHeld: DeskCopyHeld) => Promise<string>;
  /** Looked at at most this often (junkScanInterval). */
  everyMs: number;
  /** limits.maxMessageSize: a bigger file is not read. */
  maxMessageSize: number;
  log: Logger;
}

/**
 * Staff's moves into a Maildir's junk folder, learnt as spam as the IMAP source learns them
 * (spam/junk-folder.ts). A mail client or IMAP server serving the Maildir (Dovecot) moves a
 * message there by linking its file into the folder's new/ (unread) or cur/ (with its flags),
 * measured on Dovecot 2.3: the file keeps its mtime (its delivery) but link and rename set its
 * ctime. So a file of either whose ctime is after the last look arrived since, or had its
 * flags changed: it is read and handed to `learn`, which decides (never read by the desk —
 * the mail server filed it — nothing; taken from this folder by the desk, or spam by our own
 * verdict: nothing; read by the desk from the inbox: spam, unless the desk's copy is still in
 * the inbox, a copy filed by a delivery rule). At the first look (or the first
 * since learning was off) what the folder holds is older than the desk and is not read.
 */
export function junkMoves(options: JunkMovesOptions) {
  const { folder, state, log } = options;
  const key = movesKey(options.id);
  /** Files whose ctime is after this (ms) are looked at; null until the state is read. */
  let since: number | null = null;
  let lookedAt = -Infinity;
  /** Files looked at whose ctime is after `since` (the margin): path → ctime. */
  const seen = new Map<string, number>();

  return {
    /** Looks at what changed in the folder since the last look, when one is due. A store failure throws: what it had not learnt yet is looked at again on the next look. */
    async look(): Promise<void> {
      const startedAt = Date.now();
      if (startedAt - lookedAt < options.everyMs) return;
      lookedAt = startedAt;
      let firstLook = false;
      let from: number;
      if (since !== null) from = since;
      else {
        const saved = await state.get(key);
        firstLook = saved?.uidValidity !== MOVES_SINCE;
        from = saved && !firstLook ? saved.lastUid : startedAt - CTIME_MARGIN_MS;
        since = from;
      }
      const changed: { file: Buffer; name: string; ctime: number }[] = [];
      for (const sub of ['new', 'cur']) {
        const dir = path.join(folder, sub);
        let entries;
        try {
          entries = listEntries(dir);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // no junk folder yet
          throw err;
        }
        for (const e of entries) {
          if (!e.isFile()) continue;
          const file = childPath(dir, e.name);
          let ctime: number;
          try {
            ctime = statSync(file).ctimeMs;
          } catch {
            continue; // moved on meanwhile: its new place is looked at next time
          }
          const name = `${sub}/${shownName(e.name)}`;
          if (ctime > from && seen.get(name) !== ctime) changed.push({ file, name, ctime });
        }
      }
      if (firstLook) {
        // What the folder holds now is older than the desk: only a later change is looked at.
        for (const c of changed) seen.set(c.name, c.ctime);
        await state.savePosition(key, MOVES_SINCE, from);
        log.info({ folder, older: changed.length }, 'first look at the junk folder for staff’s moves: what it holds is older than the desk; what staff move there from now on is learnt as spam');
        return;
      }
      changed.sort((a, b) => a.ctime - b.ctime);
      // What the inbox holds, listed when first asked: a message the desk read whose file is
      // still in the inbox was filed here as a copy (Sieve `fileinto :copy`), not moved here.
      let inboxNames: Set<string> | null = null;
      const deskCopyHeld: DeskCopyHeld = async (read) => {
        if (read.source !== `maildir:${options.id}` || read.position === null) return false;
        inboxNames ??= inboxPositions(options.inbox);
        return inboxNames.has(read.position);
      };
      for (const c of changed) {
        let entry;
        try {
          entry = readEntry(c.file, options.maxMessageSize);
        } catch (err) {
          // Moved on meanwhile: its new place is looked at next time. Unreadable: said once.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
            log.warn({ err, folder, entry: c.name }, 'junk folder file not learnt: cannot read it');
            seen.set(c.name, c.ctime);
          }
          continue;
        }
        if ('bytes' in entry) log.info({ folder, entry: c.name, learnt: await options.learn(entry.bytes, deskCopyHeld) }, 'junk folder message');
        else log.warn({ folder, entry: c.name, ...entry }, 'junk folder file not learnt: not a message file, or over limits.maxMessageSize');
        seen.set(c.name, c.ctime);
      }
      const next = Math.max(from, startedAt - CTIME_MARGIN_MS);
      await state.savePosition(key, MOVES_SINCE, next);
      since = next;
      for (const [name, ctime] of seen) if (ctime <= next) seen.delete(name);
    },
  };
}

const movesKey = (id: string) => `${id}#junk-moves`;

/** Learning is off: turned on again, it makes a first look instead of learning every move staff made meanwhile. */
export async function forgetJunkMoves(state: SourceState, id: string): Promise<void> {
  if ((await state.get(movesKey(id)))?.uidValidity === MOVES_SINCE) await state.savePosition(movesKey(id), MOVES_NOT_LEARNT, 0);
}

/** The positions (names as in new/, shown as in inbound rows) of the files an inbox's new/ and cur/ hold. */
function inboxPositions(maildir: string): Set<string> {
  const names = new Set<string>();
  for (const sub of ['new', 'cur']) {
    try {
      for (const e of listEntries(path.join(maildir, sub))) names.add(shownName(withoutInfo(e.name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return names;
}
