import { firstInboundRawPath } from '../store/messages';
import type { Store } from '../store/open';
import { spamStore, type SpamLabel } from '../store/spam';
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

/** What learning a ticket's first inbound message did. */
export type LessonResult = 'learnt' | 'relearnt' | 'already' | 'no message';

/**
 * Staff corrected a verdict (a ticket marked spam, or taken out of spam): the ticket's first
 * inbound message is learnt that way; one learnt the other way before is unlearnt first.
 * Synchronous, so that it can join the transaction of the message that teaches it (apply.ts).
 */
export function learnCorrection(store: Store, ticketId: number, label: SpamLabel, at = Date.now()): LessonResult {
  const rawPath = firstInboundRawPath(store.db, ticketId);
  if (!rawPath) return 'no message';
  return learnBytes(store, store.blobs.read(rawPath), label, at);
}
