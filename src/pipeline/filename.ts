import mimeTypes from 'mime-types';
import path from 'node:path';
import { BIDI_CONTROLS } from '../lib/terminal-safe';

const MAX_NAME = 180;

/**
 * A name that is safe to show and to use as a download name: the last path segment only,
 * no control, bidi-control or reserved characters, no leading dots, bounded length, never empty.
 * Attachments are stored under their sha256, so this name never becomes a path on disk.
 */
export function sanitizeFilename(name: string | undefined, contentType: string, index: number): string {
  let base = (name ?? '').split(/[\\/]/).pop() ?? '';
  base = base
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .replace(BIDI_CONTROLS, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  if (base.length > MAX_NAME) {
    const ext = path.extname(base).slice(0, 16);
    base = base.slice(0, MAX_NAME - ext.length) + ext;
  }
  if (base === '') base = `part-${index + 1}${extensionFor(contentType)}`;
  return base;
}

/** The usual extension of a content type (mime-types' table), else `.bin`. */
export function extensionFor(contentType: string): string {
  const ext = mimeTypes.extension(contentType.split(';')[0].trim().toLowerCase());
  return ext ? `.${ext}` : '.bin';
}
