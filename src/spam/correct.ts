import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../pipeline/stages/parse';
import type { Store } from '../store/open';
import { spamStore, type SpamLabel } from '../store/spam';
import { applyChange } from '../store/tickets';
import { sha256Hex } from '../lib/hash';
import { spamKey } from './learn-files';
import { tokenize } from './tokenize';

/**
 * Staff corrected a verdict (a ticket marked spam, or taken out of spam): the ticket's first
 * inbound message is learnt that way; one learnt the other way before is unlearnt first.
 */
export async function learnCorrection(store: Store, ticketId: number, label: SpamLabel): Promise<'learnt' | 'relearnt' | 'already' | 'no message'> {
  const row = store.sqlite.prepare("select raw_path from messages where ticket_id = ? and direction = 'in' and raw_path is not null order by id limit 1").get(ticketId) as { raw_path: string } | undefined;
  if (!row) return 'no message';
  const bytes = readFileSync(path.join(store.dataDir, row.raw_path));
  const tokens = [...tokenize(await parseMail(bytes))];
  return spamStore(store).learn(spamKey(bytes), label, tokens, Date.now());
}

/**
 * A message found in the IMAP junk folder. One we put there (our own spam verdict) teaches
 * nothing new; one staff moved there is learnt as spam and its ticket, if any, marked spam.
 */
export async function learnJunkMessage(store: Store, bytes: Buffer, at: number): Promise<'learnt' | 'relearnt' | 'already' | 'own verdict'> {
  const row = store.sqlite
    .prepare("select t.id, t.status, t.spam_verdict verdict from inbound i join tickets t on t.id = i.ticket_id where i.raw_sha256 = ? and i.outcome in ('created', 'appended') order by i.id limit 1")
    .get(sha256Hex(bytes)) as { id: number; status: string; verdict: string | null } | undefined;
  if (row && row.verdict === 'spam' && row.status === 'spam') return 'own verdict';
  const tokens = [...tokenize(await parseMail(bytes))];
  const result = spamStore(store).learn(spamKey(bytes), 'spam', tokens, at);
  if (row && row.status !== 'spam') {
    applyChange(store.db, row.id, { field: 'status', from: row.status, to: 'spam', also: {} }, 'junk-folder', at, 'moved to the junk folder by staff');
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
  const row = store.sqlite
    .prepare("select t.id, t.status from inbound i join tickets t on t.id = i.ticket_id where i.raw_sha256 = ? and i.outcome in ('created', 'appended') order by i.id limit 1")
    .get(sha) as { id: number; status: string } | undefined;
  if (!row || row.status !== 'spam') return null;
  const redelivery = store.sqlite.prepare('select 1 from inbound where raw_sha256 = ? and source = ? and position is ? and id < (select max(id) from inbound where raw_sha256 = ?)').get(sha, source, position, sha);
  if (redelivery) return null;
  const tokens = [...tokenize(await parseMail(bytes))];
  const result = spamStore(store).learn(spamKey(bytes), 'ham', tokens, at);
  applyChange(store.db, row.id, { field: 'status', from: 'spam', to: 'new', also: {} }, 'junk-folder', at, 'moved out of the junk folder by staff');
  return result;
}
