import { closest, distance } from 'fastest-levenshtein';
import { DateTime } from 'luxon';
import { PRIORITIES, SEVERITIES, STATUSES } from '../config/schema';
import { HelpdeskError } from '../lib/errors';

/**
 * The search language of `helpdesk tickets search` and `tickets list` (issue #22): words to
 * find and `key:value` filters in one string, e.g.
 * `impresora status:open assignee:ana customer:@acme.example since:2026-11-01 tag:vip`.
 *
 * - a word finds its stem (porter) without accents; `"two words"` is a phrase; `word*` a
 *   prefix; `-word` leaves out tickets that have it;
 * - a filter key that is not one of FILTERS is an error with a did-you-mean when one is near,
 *   so `stauts:open` is not silently searched for as text.
 */
export const FILTERS = ['status', 'assignee', 'customer', 'since', 'until', 'tag', 'queue', 'category', 'priority', 'severity', 'organisation', 'spam'] as const;
export type FilterName = (typeof FILTERS)[number];

export interface TicketFilters {
  status?: string[];
  /** Agent addresses, names as written (resolved by the caller), or `none` for unassigned. */
  assignee?: string[];
  /** `@domain`, a full address, or part of one. */
  customer?: string[];
  /** Created at or after (ms), from a date in the desk's time zone. */
  since?: number;
  /** Created before the end of this day (ms). */
  until?: number;
  tag?: string[];
  queue?: string[];
  category?: string[];
  priority?: string[];
  severity?: string[];
  organisation?: string[];
  spam?: string[];
}

export interface SearchQuery {
  /** The FTS5 MATCH expression built from the words, or null when the query has filters only. */
  match: string | null;
  /** The words as written, for messages. */
  words: string[];
  /** Each word or phrase to find (or, negated, to leave out), for a store that builds its own query (PostgreSQL). */
  terms: SearchTerm[];
  filters: TicketFilters;
}

export interface SearchTerm {
  /** A word or a phrase, as written; it has letters or digits. */
  text: string;
  /** `word*`: any word starting so. */
  prefix: boolean;
  /** `-word`: messages with it are left out. */
  negated: boolean;
}

const CHOICES: Partial<Record<FilterName, readonly string[]>> = {
  status: STATUSES,
  priority: PRIORITIES,
  severity: SEVERITIES,
  spam: ['ham', 'unsure', 'spam'],
};

export class SearchQueryError extends HelpdeskError {
  constructor(message: string) {
    super('BAD_QUERY', message);
  }
}

/** Splits on blanks, keeping `"quoted phrases"` (also as a filter value: `tag:"key account"`) whole. */
function pieces(query: string): string[] {
  const out: string[] = [];
  for (const m of query.matchAll(/(-?(?:[\p{L}\p{N}_]+:)?"[^"]*"?\*?|\S+)/gu)) out.push(m[1]);
  return out;
}

const unquote = (s: string) => s.replace(/^"|"$/g, '');

/** One FTS5 string (double quotes doubled): whatever the user typed, it is never FTS syntax. */
export const ftsString = (s: string) => `"${s.replace(/"/g, '""')}"`;

export function parseSearchQuery(query: string, timezone: string): SearchQuery {
  const filters: TicketFilters = {};
  const positive: string[] = [];
  const negative: string[] = [];
  const words: string[] = [];
  const terms: SearchTerm[] = [];
  for (const piece of pieces(query)) {
    const filter = /^([A-Za-z]+):(.*)$/s.exec(piece);
    if (filter) {
      const key = filter[1].toLowerCase();
      if ((FILTERS as readonly string[]).includes(key)) {
        addFilter(filters, key as FilterName, unquote(filter[2]), timezone);
        continue;
      }
      const near = closest(key, [...FILTERS]);
      if (distance(key, near) <= 2) throw new SearchQueryError(`unknown filter "${key}:"; did you mean ${near}:? (filters: ${FILTERS.join(', ')})`);
      // Anything else with a colon (an URL, "error:404") is text.
    }
    const negated = piece.startsWith('-') && piece.length > 1;
    const body = negated ? piece.slice(1) : piece;
    const prefix = body.endsWith('*') && body.length > 1;
    const text = unquote(prefix ? body.slice(0, -1) : body).trim();
    // Only letters and digits reach the index (unicode61): a piece without any is not a word.
    if (!/[\p{L}\p{N}]/u.test(text)) continue;
    words.push(text);
    terms.push({ text, prefix, negated });
    const term = ftsString(text) + (prefix ? '*' : '');
    (negated ? negative : positive).push(term);
  }
  if (negative.length > 0 && positive.length === 0) throw new SearchQueryError('a search that leaves words out needs at least one word to find');
  const match = positive.length === 0 ? null : [positive.join(' '), ...negative.map((n) => `NOT ${n}`)].join(' ');
  return { match, words, terms, filters };
}

function addFilter(filters: TicketFilters, key: FilterName, value: string, timezone: string): void {
  if (value === '') throw new SearchQueryError(`"${key}:" needs a value`);
  if (key === 'since' || key === 'until') {
    const day = DateTime.fromISO(value, { zone: timezone });
    if (!day.isValid || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new SearchQueryError(`${key}: expects a date such as 2026-11-01, got "${value}"`);
    if (key === 'since') filters.since = day.startOf('day').toMillis();
    else filters.until = day.endOf('day').toMillis() + 1;
    return;
  }
  const values = value.split(',').map((v) => v.trim()).filter(Boolean);
  const choices = CHOICES[key];
  for (const v of values) {
    if (choices && !choices.includes(v.toLowerCase())) {
      const near = closest(v.toLowerCase(), [...choices]);
      throw new SearchQueryError(`${key}: expects one of ${choices.join(', ')}, got "${v}"${distance(v.toLowerCase(), near) <= 2 ? `; did you mean ${near}?` : ''}`);
    }
  }
  const normalised = choices || key === 'customer' || key === 'assignee' ? values.map((v) => v.toLowerCase()) : values;
  const list = key as Exclude<FilterName, 'since' | 'until'>;
  filters[list] = [...(filters[list] ?? []), ...normalised];
}
