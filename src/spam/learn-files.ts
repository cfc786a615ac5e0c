import { sha256Hex } from '../lib/hash';
import { messagesFromPaths } from '../mail-in/files';
import { parseMail } from '../pipeline/stages/parse';
import type { RawMessage } from '../pipeline/types';
import { tokenize } from './tokenize';

/** The key under which a raw message is learnt: the same bytes are the same message. */
export const spamKey = (bytes: Buffer) => `raw:${sha256Hex(bytes)}`;

/** Each message under the paths (files, folders, mbox, Maildir) with its tokens; unparseable ones are reported, not thrown. */
export async function* tokenizedMessages(paths: string[]): AsyncGenerator<{ raw: RawMessage; key: string; tokens: string[] } | { raw: RawMessage; error: string }> {
  for await (const raw of messagesFromPaths(paths)) {
    try {
      const mail = await parseMail(raw.bytes);
      yield { raw, key: spamKey(raw.bytes), tokens: [...tokenize(mail)] };
    } catch (err) {
      yield { raw, error: (err as Error).message };
    }
  }
}
