import { words as en } from 'natural/lib/natural/util/stopwords';
import { words as es } from 'natural/lib/natural/util/stopwords_es';
import { words as fr } from 'natural/lib/natural/util/stopwords_fr';
import { words as it } from 'natural/lib/natural/util/stopwords_it';
import { words as pt } from 'natural/lib/natural/util/stopwords_pt';
import { stem } from 'natural/lib/natural/stemmers/porter_stemmer';

/**
 * Words of mail that carry no topic: the stop words of the languages customers write in
 * (natural's lists) and the ones every support mail has. Matching on them would make every
 * ticket "similar".
 */
const MAIL_WORDS = ['hello', 'hi', 'dear', 'thanks', 'thank', 'regards', 'please', 'best', 'hola', 'gracias', 'saludos', 'buenos', 'buenas', 'dias', 'días', 'tardes', 'favor', 'estimado', 'estimados', 'cordial', 'atentamente', 'sent', 'iphone', 'wrote', 'escribió', 're', 'fw', 'fwd', 'rv'];
const STOP = new Set([...en, ...es, ...fr, ...it, ...pt, ...MAIL_WORDS].map((w) => w.toLowerCase()));

export const isStopWord = (word: string): boolean => STOP.has(word.toLowerCase());

/** The distinct topic words of a question, in order, at most `max`. */
export function questionWords(question: string, max = 24): string[] {
  // Words as the index's tokenizer (unicode61) cuts them: "dist-upgrade" is "dist" and "upgrade".
  const seen = new Set<string>();
  for (const w of question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (w.length < 3 || STOP.has(w) || /^\d+$/.test(w) || seen.has(w)) continue;
    seen.add(w);
    if (seen.size >= max) break;
  }
  return [...seen];
}

/**
 * A word as the index stores it (tokenize='porter unicode61 remove_diacritics 2'): lower
 * case, accents removed, Porter's stem. natural's Porter stemmer agrees with SQLite's on
 * 20,303 of 20,305 distinct words of the corpus's ham; a word where they differ is only not
 * found in the word counts (search/similar.ts), never wrongly matched.
 */
export function indexTerm(word: string): string {
  return stem(word.toLowerCase().normalize('NFD').replace(/\p{M}/gu, ''));
}
