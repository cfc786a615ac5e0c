import { sha256Hex } from '../lib/hash';
import { seenBeforeAt, ticketOfRaw } from '../store/inbound';
import { firstInboundRawPath } from '../store/messages';
import type { Store } from '../store/open';
import { spamStore, type SpamLabel } from '../store/spam';
import { applyChange } from '../store/tickets';
import { spamKey } from './learn-files';
import { spamInput } from './spam-input';
import { tokenize } from './tokenize';

/** What learning raw message bytes stores: the message's key (its sha256) and its tokens. */
export function lessonOf(bytes: Buffer): { key: string; tokens: string[] } {
  return { key: spamKey(bytes), tokens: [...tokenize(spamInput(bytes))] };
}

/** Learns raw message bytes as spam or ham (relearning one learnt the other way). */
function learnBytes(store: Store, bytes: Buffer, label: SpamLabel, at: number) {
  const { key, tokens } = lessonOf(bytes);
  return spamStore(store).learn(key, label, tokens, at);
}

/**
 * Staff corrected a verdict (a ticket marked spam, or taken out of spam): the ticket's first
 * inbound message is learnt that way; one learnt the other way before is unlearnt first.
 */
export async function learnCorrection(store: Store, ticketId: number, label: SpamLabel, at = Date.now()): Promise<'learnt' | 'relearnt' | 'already' | 'no message'> {
  const rawPath = firstInboundRawPath(store.db, ticketId);
  if (!rawPath) return 'no message';
  return learnBytes(store, store.blobs.read(rawPath), label, at);
}

/**
 * A message found in the IMAP junk folder. One we put there (our own spam verdict) teaches
 * nothing new; one staff moved there is learnt as spam and its ticket, if any, marked spam.
 */
export async function learnJunkMessage(store: Store, bytes: Buffer, at: number): Promise<'learnt' | 'relearnt' | 'already' | 'own verdict'> {
  const ticket = ticketOfRaw(store.db, sha256Hex(bytes));
  if (ticket && ticket.spamVerdict === 'spam' && ticket.status === 'spam') return 'own verdict';
  const result = await learnBytes(store, bytes, 'spam', at);
  if (ticket && ticket.status !== 'spam') {
    applyChange(store.db, ticket.id, { field: 'status', from: ticket.status, to: 'spam', also: {} }, 'junk-folder', at, 'moved to the junk folder by staff');
  }
  return result;
}

/**
 * A message seen again in the inbox. When its ticket is marked spam and it is not a plain
 * re-delivery of the same mailbox position (a crash before the acknowledgement), staff moved
 * it out of the junk folder: it is learnt as ham and the ticket reopened as `new`.
 */
export async function learnMovedOutOfJunk(store: Store, bytes: Buffer, source: string, position: string | null, at: number): Promise<'relearnt' | 'learnt' | 'already' | null> {
  const sha = sha256Hex(bytes);
  const ticket = ticketOfRaw(store.db, sha);
  if (!ticket || ticket.status !== 'spam' || seenBeforeAt(store.db, sha, source, position)) return null;
  const result = await learnBytes(store, bytes, 'ham', at);
  applyChange(store.db, ticket.id, { field: 'status', from: 'spam', to: 'new', also: {} }, 'junk-folder', at, 'moved out of the junk folder by staff');
  return result;
}
