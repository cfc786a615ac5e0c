import type { Config } from '../config/schema';

/** One rating level as a notice shows it, in the reader's language. */
export interface RatingLevel {
  value: number;
  label: string;
}

/** The configured levels (`replies.ratings`), lowest first, labelled in `locale` (else the desk's language, else any). */
export function ratingLevels(config: Config, locale: string): RatingLevel[] {
  return Object.entries(config.replies.ratings)
    .map(([value, label]) => ({ value: Number(value), label: typeof label === 'string' ? label : labelIn(label, [locale, config.helpdesk.locale]) }))
    .sort((a, b) => a.value - b.value);
}

function labelIn(labels: Partial<Record<string, string>>, locales: string[]): string {
  for (const l of locales) if (labels[l]) return labels[l];
  return Object.values(labels).find((v) => v !== undefined) ?? '';
}

/**
 * What `#rate ARG` says: a configured value ("4", "4 great service") or a label in any
 * language ("excellent", "muy bueno, gracias"), the longest label that starts the argument,
 * and the comment after it. Null when it names no level.
 */
export function parseRating(config: Config, arg: string): { score: number; comment: string } | null {
  const text = arg.trim();
  const byValue = /^(\d{1,2})\b[\s,.:;!-]*(.*)$/s.exec(text);
  if (byValue) {
    const score = Number(byValue[1]);
    return String(score) in config.replies.ratings ? { score, comment: byValue[2].trim() } : null;
  }
  const lower = text.toLowerCase();
  let best: { score: number; length: number } | null = null;
  for (const [value, label] of Object.entries(config.replies.ratings)) {
    for (const l of typeof label === 'string' ? [label] : Object.values(label)) {
      const name = (l ?? '').toLowerCase();
      if (name && lower.startsWith(name) && !/[\p{L}\p{N}]/u.test(lower.charAt(name.length)) && (!best || name.length > best.length)) best = { score: Number(value), length: name.length };
    }
  }
  return best ? { score: best.score, comment: text.slice(best.length).replace(/^[\s,.:;!-]+/, '').trim() } : null;
}

/** "1 poor, 2 fair, …" for an error message or a note. */
export function describeLevels(config: Config): string {
  return ratingLevels(config, config.helpdesk.locale).map((l) => `${l.value} ${l.label}`).join(', ');
}

/** "(excellent)" for a stored score, in the desk's language; "" for a level no longer configured. */
export function ratingLabel(config: Config, score: number): string {
  const level = ratingLevels(config, config.helpdesk.locale).find((l) => l.value === score);
  return level ? `(${level.label})` : '';
}
