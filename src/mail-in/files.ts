import { readdirSync, readFileSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { childPath, isHidden, shownName } from '../lib/byte-names';
import type { RawMessage } from '../pipeline/types';

const TMP = Buffer.from('tmp');

/**
 * Raw messages from the command line (`helpdesk ingest`): a file holds one message, or
 * several when it is an mbox; a directory is read recursively in name order (a Maildir's
 * new/ and cur/ included); `-` is standard input.
 */
export async function* messagesFromPaths(paths: string[], maxMessageSize: number, spool?: () => string): AsyncGenerator<RawMessage> {
  for (const p of paths) {
    if (p === '-') {
      const input = await readStdin(maxMessageSize, spool);
      if ('bytes' in input) yield* splitMessages(input.bytes, '-');
      else yield { bytes: Buffer.alloc(0), source: '-', position: null, mailbox: null, oversized: input };
      continue;
    }
    for (const file of statSync(p).isDirectory() ? listFiles(p) : [{ path: Buffer.from(p), name: p }]) {
      // A file too big to be a message (or an mbox of such) is never read into memory: it is
      // copied into the store as it streams by, and quarantined.
      const size = statSync(file.path).size;
      if (size > maxMessageSize) yield { bytes: Buffer.alloc(0), source: file.name, position: null, mailbox: null, oversized: { file: file.path, size } };
      else yield* splitMessages(readFileSync(file.path), file.name);
    }
  }
}

/** A file found under a directory: its path as bytes (lib/byte-names.ts), and as shown to people. */
export interface ListedFile {
  path: Buffer;
  name: string;
}

/** Regular files under a directory, sorted, skipping hidden entries and Maildir tmp/; names of any bytes (lib/byte-names.ts). */
export function listFiles(dir: string): ListedFile[] {
  const out: ListedFile[] = [];
  const walk = (d: Buffer) => {
    const entries = readdirSync(d, { withFileTypes: true, encoding: 'buffer' }).sort((a, b) => Buffer.compare(a.name, b.name));
    for (const e of entries) {
      if (isHidden(e.name)) continue;
      const full = childPath(d, e.name);
      if (e.isDirectory()) {
        if (e.name.equals(TMP) && isMaildir(d)) continue;
        walk(full);
      } else if (e.isFile() || (e.isSymbolicLink() && isFileTarget(full))) out.push({ path: full, name: shownName(full) });
    }
  };
  walk(Buffer.from(dir));
  return out;
}

function isFileTarget(p: Buffer): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false; // a dangling link
  }
}

function isMaildir(dir: Buffer): boolean {
  try {
    return statSync(childPath(dir, Buffer.from('cur'))).isDirectory() && statSync(childPath(dir, Buffer.from('new'))).isDirectory();
  } catch {
    return false;
  }
}

function* splitMessages(bytes: Buffer, source: string): Generator<RawMessage> {
  const parts = splitMbox(bytes);
  if (parts.length <= 1) {
    yield { bytes, source, position: null, mailbox: null };
    return;
  }
  for (let i = 0; i < parts.length; i++) yield { bytes: parts[i], source, position: `#${i + 1}`, mailbox: null };
}

const FROM_LINE = /^From \S+/;

/**
 * Splits an mbox into messages. A file that does not start with a `From ` line, or holds only
 * one message, comes back whole (a single message keeps its exact bytes, so dedup by hash
 * recognises it). Messages are cut at `From ` lines that follow an empty line (mboxrd/mboxo);
 * one level of `>From ` quoting is removed from each message.
 */
export function splitMbox(bytes: Buffer): Buffer[] {
  if (!FROM_LINE.test(bytes.subarray(0, 256).toString('latin1'))) return [bytes];
  const text = bytes.toString('latin1');
  const starts: number[] = [0];
  const re = /\r?\n\r?\nFrom \S+[^\n]*\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[0].indexOf('From '));
  if (starts.length === 1) return [bytes];
  return starts.map((start, i) => {
    const end = i + 1 < starts.length ? starts[i + 1] : text.length;
    const chunk = text.slice(start, end);
    const body = chunk.slice(chunk.indexOf('\n') + 1).replace(/^>(>*From )/gm, '$1');
    return Buffer.from(body, 'latin1');
  });
}

/**
 * Standard input: its bytes, or, once it has passed `maxMessageSize`, the file it was written to
 * as it streamed by, in the folder `spool()` gives (as a too big file is never read into
 * memory: an MTA's pipe may carry more than the desk takes). The caller makes that folder when
 * asked, and removes it once the intake is done.
 */
async function readStdin(maxMessageSize: number, spool: (() => string) | undefined): Promise<{ bytes: Buffer } | { file: string; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let out: { file: string; handle: FileHandle } | null = null;
  try {
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length;
      if (!out && size > maxMessageSize) {
        if (!spool) throw new Error(`standard input is over limits.maxMessageSize (${maxMessageSize} bytes) and there is nowhere to keep it`);
        const file = path.join(spool(), 'stdin.eml');
        out = { file, handle: await open(file, 'wx') };
        for (const c of chunks.splice(0)) await out.handle.write(c);
      }
      if (out) await out.handle.write(chunk as Buffer);
      else chunks.push(chunk as Buffer);
    }
  } finally {
    await out?.handle.close();
  }
  return out ? { file: out.file, size } : { bytes: Buffer.concat(chunks) };
}
