import { closeSync, fsyncSync, openSync } from 'node:fs';

/**
 * Makes a file's content, or a folder's entries (a file created, renamed or removed in it),
 * durable: a rename is only sure to survive a power cut once its folder is fsynced.
 */
export function fsyncPath(target: string): void {
  const fd = openSync(target, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
