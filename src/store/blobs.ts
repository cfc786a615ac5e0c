import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Content-addressed files under the data dir: raw messages in `raw/`, attachment bodies in
 * `attachments/`, each named by its sha256 and fanned out by the first two hex digits.
 * Writing is idempotent (same content, same name); a file cut short by a crash is noticed by
 * its size and rewritten atomically (temp file + rename). Returned paths are relative to the data dir.
 */
export function saveRaw(dataDir: string, bytes: Buffer, sha256: string): string {
  return saveBlob(dataDir, 'raw', `${sha256}.eml`, bytes);
}

export function saveAttachment(dataDir: string, content: Buffer, sha256: string): string {
  return saveBlob(dataDir, 'attachments', sha256, content);
}

function saveBlob(dataDir: string, kind: string, name: string, bytes: Buffer): string {
  if (!/^[0-9a-f]{64}(\.eml)?$/.test(name)) throw new Error(`refusing to store a blob named ${JSON.stringify(name)}`);
  const relative = path.join(kind, name.slice(0, 2), name);
  const target = path.join(dataDir, relative);
  // Hot path (one syscall): create the file exclusively. It already exists with the right size
  // when this content was stored before. Anything else (a fan-out folder missing, a partial
  // file left by a crash) takes the slow, atomic path.
  try {
    writeFileSync(target, bytes, { flag: 'wx' });
    return relative;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(target).size === bytes.length) return relative;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, target);
  return relative;
}
