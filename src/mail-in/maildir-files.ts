import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, type Dirent, type Stats } from 'node:fs';
import { isHidden } from '../lib/byte-names';

/** The entries of a Maildir folder (new/, cur/), names as bytes (lib/byte-names.ts: one that is not UTF-8 is read too), hidden ones left out. */
export const listEntries = (folder: string): Dirent<Buffer>[] => readdirSync(folder, { withFileTypes: true, encoding: 'buffer' }).filter((e) => !isHidden(e.name));

/**
 * What an entry of new/ holds: a message's bytes, the size of a file too big to read, or what
 * else it is. Opened without following a symlink (a link could lead out of the Maildir, to
 * /dev/zero or a secret) and without waiting for a writer (reading a FIFO would block the
 * event loop, and with it every mailbox and job, until someone wrote to it); only a regular
 * file is read. MTAs deliver nothing else.
 */
export function readEntry(file: Buffer, maxSize: number): { bytes: Buffer } | { oversized: number } | { notMail: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { notMail: 'a symbolic link' };
    throw err;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { notMail: kindOf(stats) };
    if (stats.size > maxSize) return { oversized: stats.size };
    return { bytes: readFileSync(fd) };
  } finally {
    closeSync(fd);
  }
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** A Maildir file name without its info (`:2,FLAGS`): the name it had in new/. */
export function withoutInfo(name: Buffer): Buffer {
  const colon = name.lastIndexOf(':');
  return colon > 0 && name[colon + 2] === 0x2c && (name[colon + 1] === 0x32 || name[colon + 1] === 0x31) ? name.subarray(0, colon) : name;
}
