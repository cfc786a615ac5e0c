import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { convert } from 'html-to-text';
import { simpleParser } from 'mailparser';
import { LOCALES } from '../config/schema';
import { detectLanguage } from '../pipeline/language';
import { out, pct } from './common';

/**
 * How well the customer's language is told from their words (pipeline/language.ts), on short
 * real paragraphs of the shared corpus, beside the baseline every mail had before: the desk's
 * `helpdesk.locale` (en). Spanish: the newsletters returned inside php-bounce-handler's
 * bounces and the Spanish mails among sisimai's and SpamAssassin's; English: the first
 * paragraph of SpamAssassin ham; German (we have no German templates, so "right" is falling
 * back rather than claiming en or es): Zammad's German mails. Paragraphs of 30–400 characters,
 * as short as customers' first mails; each paragraph is labelled by its words (Spanish or
 * German function words and no English ones), not by headers, which are often wrong.
 *
 *   npm run bench:lang [-- CORPUS_DIR]
 */
const root = path.resolve(process.argv[2] ?? '../shared/corpus');
const ES = /\b(que|para|los|las|una|del|por|con|est[aá])\b/i;
const DE = /\b(und|der|die|das|nicht|Sie|ist)\b/;
const EN = /\b(the|and|you|your|this|with)\b/i;

async function texts(raw: Buffer): Promise<string[]> {
  const m = await simpleParser(raw, { skipImageLinks: true });
  const body = m.text || (m.html ? toText(m.html) : '');
  // A bounce quoting the original html inline: its words too.
  const i = body.search(/<(html|div|body|p)\b/i);
  return i >= 0 ? [body, toText(body.slice(i))] : [body];
}

const toText = (html: string) => convert(html, { wordwrap: false, selectors: [{ selector: 'a', options: { ignoreHref: true } }, { selector: 'img', format: 'skip' }] });

function paragraphs(body: string): string[] {
  return body
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^>.*$/gm, '').replace(/\s+/g, ' ').trim())
    .filter((p) => p.length >= 30 && p.length <= 400 && /\p{L}{3,}/u.test(p) && !/https?:|@|={3,}|-{3,}/.test(p));
}

const files = (dir: string, match: RegExp) => readdirSync(path.join(root, dir)).filter((f) => match.test(f)).sort().map((f) => path.join(root, dir, f));

async function labelled(): Promise<Array<{ text: string; lang: string }>> {
  const set = new Map<string, string>();
  const es = [...files('mail/php-bounce-handler', /\.eml$/), path.join(root, 'mail/sisimai/bsd/lhost-googlegroups-07.eml'), ...files('spamassassin/hard-ham', /^00006\./), ...files('spamassassin/ham', /^(00063|01165)\./)];
  for (const f of es) for (const t of await texts(readFileSync(f))) for (const p of paragraphs(t)) if (ES.test(p) && !EN.test(p)) set.set(p, 'es');
  let en = 0;
  for (const f of files('spamassassin/ham', /\.eml$/)) {
    if (en >= 300) break;
    const [p] = paragraphs((await texts(readFileSync(f)))[0]);
    if (p && !set.has(p)) {
      set.set(p, 'en');
      en++;
    }
  }
  for (const f of files('mail/zammad', /\.box$/)) for (const t of await texts(readFileSync(f))) for (const p of paragraphs(t).slice(0, 2)) if (DE.test(p) && !/\b(the|and|que)\b/.test(p)) set.set(p, 'de');
  return [...set].map(([text, lang]) => ({ text, lang }));
}

async function main(): Promise<void> {
  const set = await labelled();
  out(`short paragraphs from ${root}: ${['es', 'en', 'de'].map((l) => `${set.filter((s) => s.lang === l).length} ${l}`).join(', ')}`);
  // Right: the language when we have templates for it; for any other, falling back (null).
  const right = (lang: string, got: string | null) => ((LOCALES as readonly string[]).includes(lang) ? got === lang : got === null);
  const started = process.hrtime.bigint();
  const detected = set.map((s) => ({ ...s, got: detectLanguage(s.text, LOCALES) }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  out('language | detector right | baseline (helpdesk.locale en) right');
  for (const lang of ['es', 'en', 'de']) {
    const rows = detected.filter((s) => s.lang === lang);
    const d = rows.filter((s) => right(lang, s.got)).length;
    const b = rows.filter(() => right(lang, lang === 'de' ? null : 'en')).length;
    out(`${lang} | ${d}/${rows.length} ${pct(d / rows.length)} | ${b}/${rows.length} ${pct(b / rows.length)}`);
  }
  const wrong = detected.filter((s) => !right(s.lang, s.got));
  for (const w of wrong) out(`  missed (${w.lang} → ${w.got ?? 'fallback'}): ${w.text.slice(0, 90)}`);
  out(`detector: ${(ms / set.length).toFixed(2)} ms per paragraph (first call loads the n-grams)`);
}

void main();
