import { existsSync } from 'node:fs';
import path from 'node:path';

/** The part of eld's API used here. */
interface Eld {
  detect(text: string): { language: string; isReliable(): boolean };
}

let detector: Eld | null = null;

/**
 * eld ("small" n-gram set, 1.6 MB) loaded on first use. eld is published as an ES module whose
 * `exports` offer only the `import` condition, which CommonJS `require('eld/small')` cannot
 * resolve; Node ≥ 20.19 does load an ES module file by `require` of its path, so the entry
 * file is found beside our other packages and required directly.
 */
function eld(): Eld {
  if (detector) return detector;
  const dir = (require.resolve.paths('eld') ?? []).map((p) => path.join(p, 'eld')).find((p) => existsSync(path.join(p, 'package.json')));
  if (!dir) throw new Error('the eld package is not installed');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: the ES module's entry file, by path
  detector = (require(path.join(dir, 'src', 'entries', 'static.small.js')) as { eld: Eld }).eld;
  return detector;
}

/** Fewer letters than this say too little to tell a language (a "ok", a signature). */
const MIN_LETTERS = 12;
/** The start of a message says which language it is in; the rest only costs time. */
const SAMPLE = 1000;

/**
 * The language of a customer's words, when eld is sure of it and it is one of `locales` (the
 * languages we have templates for); null otherwise, and the caller falls back (the
 * contact's recorded language, `Content-Language`, `helpdesk.locale`). Chosen over
 * franc-min and tinyld by accuracy on short real en/es/de paragraphs of the shared corpus:
 * eld 26/26 es, 298/300 en, 16/17 de (not taken for en/es); franc-min 26/26, 249/300,
 * 16/17; tinyld 25/26, 253/300, 16/17 (see docs/ARCHITECTURE.md, "Customer language").
 */
export function detectLanguage(text: string, locales: readonly string[]): string | null {
  const sample = text.slice(0, SAMPLE);
  if ((sample.match(/\p{L}/gu)?.length ?? 0) < MIN_LETTERS) return null;
  const result = eld().detect(sample);
  return result.isReliable() && locales.includes(result.language) ? result.language : null;
}
