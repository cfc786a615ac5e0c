import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

let tmpCounter = 0;

/**
 * Writes `target` through a temp file and a rename, everything fsynced, making its folder if it
 * is missing: when this returns, the whole file survives a power cut; when it throws, `target`
 * is as it was and no temp file is left.
 */
export function writeAtomically(target: string, bytes: Buffer): void {
  const created = mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    fsyncPath(tmp);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncFolders(path.dirname(target), created);
}

/**
 * Makes the entries of `dir` durable, and `dir` itself with every folder mkdirSync made for it
 * (`created`: the first of them, as mkdirSync's recursive mode returns it) in the folder that
 * holds it.
 */
export function fsyncFolders(dir: string, created: string | undefined): void {
  const top = created ? path.dirname(created) : dir;
  for (let folder = dir; ; folder = path.dirname(folder)) {
    fsyncPath(folder);
    if (folder === top || folder === path.dirname(folder)) break;
  }
}
