import { isUtf8 } from 'node:buffer';
import path from 'node:path';

/**
 * File names as the directory holds them. Node decodes names as UTF-8 unless asked for bytes;
 * a name that is not UTF-8 (a file copied from a Latin-1 system) then comes back with U+FFFD
 * in it, a path that does not exist, and the file cannot be opened. Readers of mail folders
 * list names as bytes and open them by these paths.
 */

/** The path of the entry `name` (bytes) in `dir`. */
export function childPath(dir: string | Buffer, name: Buffer): Buffer {
  const parent = Buffer.from(dir);
  return parent.at(-1) === SEP[0] ? Buffer.concat([parent, name]) : Buffer.concat([parent, SEP, name]);
}

const SEP = Buffer.from(path.sep);

/** A name that starts with a dot: hidden, and never mail (Maildir's own `.` files, editors' leftovers). */
export function isHidden(name: Buffer): boolean {
  return name[0] === 0x2e;
}

/** A name or path for people (logs, `helpdesk status`, a message's source): as UTF-8, or, when it is not, each byte above 0x7f as `\xNN`. */
export function shownName(name: Buffer): string {
  return isUtf8(name) ? name.toString('utf8') : [...name].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}
