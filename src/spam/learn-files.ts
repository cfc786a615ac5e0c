import { sha256Hex } from '../lib/hash';
import { messagesFromPaths } from '../mail-in/files';
import type { RawMessage } from '../pipeline/types';
import { spamInput } from './spam-input';
import { tokenize } from './tokenize';

/** limits.maxMessageSize's default (config/schema.ts): mail to learn from is read whole. */
const DEFAULT_MAX_SIZE = 25 * 1024 * 1024;

/** The key under which a raw message is learnt: the same bytes are the same message. */
export const spamKey = (bytes: Buffer) => `raw:${sha256Hex(bytes)}`;

/**
 * Each message under the paths (files, folders, mbox, Maildir) with its tokens, read by the
 * quick spam reader (spam-input.ts); unreadable ones are reported, not thrown.
 */
export async function* tokenizedMessages(paths: string[], maxMessageSize = DEFAULT_MAX_SIZE): AsyncGenerator<{ raw: RawMessage; key: string; tokens: string[] } | { raw: RawMessage; error: string }> {
  for await (const raw of messagesFromPaths(paths, maxMessageSize)) {
    if (raw.oversized) {
      yield { raw, error: `${raw.oversized.size} bytes, over the ${maxMessageSize} bytes a message may have` };
      continue;
    }
    try {
      yield { raw, key: spamKey(raw.bytes), tokens: [...tokenize(spamInput(raw.bytes))] };
    } catch (err) {
      yield { raw, error: (err as Error).message };
    }
  }
}
