import { sha256Hex } from '../lib/hash';
import { processedRaw, seenBeforeAt, ticketOfRaw } from '../store/inbound';
import type { Store } from '../store/open';
import { spamStore, type SpamLabel } from '../store/spam';
import { addEvent, applyChange, type EventInput, type TicketChange } from '../store/tickets';
import { JUNK_POSITION, type DeskCopyHeld } from '../pipeline/types';
import { lessonOf } from './correct';
import { spamKey } from './learn-files';

/** What junk-folder learning reads and writes, on either store (the SQLite file, or one PostgreSQL transaction). */
export interface JunkStore {
  /** The ticket these raw bytes made (`created`) or joined (`appended`), if any. */
  ticketOfRaw(sha256: string): Promise<{ id: number; status: string; spamVerdict: string | null; outcome: string; source: string; position: string | null } | null>;
  /** Whether the desk read these bytes (from any mailbox) and processed them. */
  readByDesk(sha256: string): Promise<boolean>;
  /** Whether these bytes were handled before at this same source position (a re-delivery). */
  seenBeforeAt(sha256: string, source: string, position: string | null): Promise<boolean>;
  learn(key: string, label: SpamLabel, tokens: string[], at: number): Promise<'learnt' | 'relearnt' | 'already'>;
  applyChange(ticketId: number, change: TicketChange, actor: string, at: number, reason: string): Promise<void>;
  addEvent(e: EventInput): Promise<void>;
  /** How a message (by its spam key) is learnt now, if it is. */
  learntAs(key: string): Promise<SpamLabel | null>;
}

/** The SQLite store's answers (call inside its write turn). */
export function sqliteJunkStore(store: Store): JunkStore {
  return {
    ticketOfRaw: async (sha) => ticketOfRaw(store.db, sha),
    readByDesk: async (sha) => processedRaw(store.db, sha) !== null,
    seenBeforeAt: async (sha, source, position) => seenBeforeAt(store.db, sha, source, position),
    learn: async (key, label, tokens, at) => spamStore(store).learn(key, label, tokens, at),
    applyChange: async (ticketId, change, actor, at, reason) => applyChange(store.db, ticketId, change, actor, at, reason),
    addEvent: async (e) => addEvent(store.db, e),
    learntAs: async (key) => spamStore(store).learntAs(key),
  };
}

/**
 * A message found in the IMAP junk folder. One the desk never read was filed there by
 * someone else (the mail server's own spam filter, a mail client's) before the desk could: no
 * staff decision, so nothing is learnt (`helpdesk spam train` learns such a folder on
 * purpose). One we put there (our own spam verdict) teaches nothing new. One staff moved there
 * is learnt as spam and, when it is the message that started its ticket, the ticket is marked
 * spam; a later message of a ticket (a reply in a conversation, perhaps a stranger's who knew
 * a Message-ID) is learnt as spam and noted on the ticket, which stays as it is: one message
 * moved to the junk folder does not silence a customer's whole conversation (`#spam` or
 * `tickets set … spam` does that on purpose).
 */
export async function learnJunkMessage(store: JunkStore, bytes: Buffer, at: number): Promise<JunkLesson> {
  const sha = sha256Hex(bytes);
  // A ticket made or joined by these bytes means the desk read them (the same processed rows).
  const ticket = await store.ticketOfRaw(sha);
  if (!ticket && !(await store.readByDesk(sha))) return 'never read by the desk';
  const none = ticket ? noLesson(ticket) : null;
  if (none) return none;
  const { key, tokens } = lessonOf(bytes);
  const result = await store.learn(key, 'spam', tokens, at);
  if (ticket && ticket.status !== 'spam') {
    if (ticket.outcome === 'created') await store.applyChange(ticket.id, { field: 'status', from: ticket.status, to: 'spam', also: {} }, 'junk-folder', at, 'moved to the junk folder by staff');
    else if (result !== 'already') await store.addEvent({ ticketId: ticket.id, at, actor: 'junk-folder', type: 'junk_learnt', to: 'spam', reason: `a later message of this ticket was moved to the junk folder by staff: learnt as spam; the ticket stays ${ticket.status}` });
  }
  return result;
}

/** What came of a message found in the junk folder (logged as `learnt`). */
export type JunkLesson = 'learnt' | 'relearnt' | 'already' | 'own verdict' | 'never read by the desk' | 'taken from the junk folder' | 'a copy: the desk still holds the message it read';

type ReadRow = NonNullable<Awaited<ReturnType<JunkStore['ticketOfRaw']>>>;

/** Why a message the desk read teaches nothing from the junk folder, by the ticket its bytes made or joined; null: staff moved it there. */
function noLesson(ticket: ReadRow): JunkLesson | null {
  // Read by the desk from this very folder (mailboxes[].readJunk): the mail server filed it
  // there, no one on staff did; seen again after a crash before the folder's position was saved.
  if (ticket.position?.startsWith(JUNK_POSITION)) return 'taken from the junk folder';
  if (ticket.spamVerdict === 'spam' && ticket.status === 'spam') return 'own verdict';
  return null;
}

/**
 * learnJunkMessage for a source that can tell whether the desk's own copy is still where it
 * left it: a move takes the message out of there, a delivery rule that files a copy into the
 * junk folder as well as the inbox (Sieve `fileinto :copy`) does not, and such a copy teaches
 * nothing. The source is asked (an IMAP search, perhaps) between two store turns
 * (`inStore`), holding neither; the second decides afresh.
 */
export async function learnJunkFound(inStore: <T>(work: (store: JunkStore) => Promise<T>) => Promise<T>, bytes: Buffer, at: number, deskCopyHeld?: DeskCopyHeld): Promise<JunkLesson> {
  if (deskCopyHeld) {
    const read = await inStore((store) => store.ticketOfRaw(sha256Hex(bytes)));
    if (read && noLesson(read) === null && (await deskCopyHeld(read))) return 'a copy: the desk still holds the message it read';
  }
  return inStore((store) => learnJunkMessage(store, bytes, at));
}

/**
 * A message seen again in the inbox. When its ticket is marked spam and it is not a plain
 * re-delivery of the same mailbox position (a crash before the acknowledgement), staff moved
 * it out of the junk folder: it is learnt as ham and the ticket reopened as `new`. A later
 * message of a ticket that the junk folder taught as spam is learnt as ham again, and its
 * ticket left as it is.
 */
export async function learnMovedOutOfJunk(store: JunkStore, bytes: Buffer, source: string, position: string | null, at: number): Promise<'relearnt' | 'learnt' | 'already' | null> {
  const sha = sha256Hex(bytes);
  const ticket = await store.ticketOfRaw(sha);
  if (!ticket || (await store.seenBeforeAt(sha, source, position))) return null;
  // Asked for every duplicate: decided before the message is tokenized.
  const laterMessage = ticket.outcome !== 'created' && ticket.status !== 'spam';
  if (laterMessage ? (await store.learntAs(spamKey(bytes))) !== 'spam' : ticket.status !== 'spam') return null;
  const { key, tokens } = lessonOf(bytes);
  const result = await store.learn(key, 'ham', tokens, at);
  if (laterMessage) {
    // A later message taken back out of the junk folder: only its lesson is undone.
    await store.addEvent({ ticketId: ticket.id, at, actor: 'junk-folder', type: 'junk_learnt', to: 'ham', reason: 'a message of this ticket was moved out of the junk folder by staff: learnt as ham' });
  } else {
    await store.applyChange(ticket.id, { field: 'status', from: 'spam', to: 'new', also: {} }, 'junk-folder', at, 'moved out of the junk folder by staff');
  }
  return result;
}
