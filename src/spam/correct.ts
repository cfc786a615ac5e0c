import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../pipeline/stages/parse';
import type { Store } from '../store/open';
import { spamStore, type SpamLabel } from '../store/spam';
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
