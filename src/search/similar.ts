import type Database from 'better-sqlite3';
import type { Store } from '../store/open';
import { ftsString } from './query';
import { indexTerm, questionWords } from './question';

export interface SimilarTicket {
  ref: string;
  subject: string;
  /** The first lines of the last reply an agent sent on it: what solved it. */
  solution: string;
}

/** At most this many lines, and characters, of the solving reply in a notification. */
const SOLUTION_LINES = 4;
const SOLUTION_CHARS = 400;

/**
 * Up to `limit` resolved or closed tickets (not merged away, answered by an agent) whose
 * customers' messages share the most, and the rarest, topic words with `question`, best first.
 * A ticket ranked below half the best one's bm25 is left out: sharing one common word is not
 * being similar. `excludeTicketId`: the ticket being answered.
 */
export function similarResolved(store: Pick<Store, 'reader'>, question: { subject: string; text: string }, excludeTicketId: number, limit = 3): SimilarTicket[] {
  const client = store.reader();
  const c = wordCounts(client);
  const words = rareWords(c, questionWords(`${question.subject}\n${question.text.slice(0, 4000)}`, 32));
  if (!words) return [];
  const rows = c.similar.all({ match: `{subject text} : (${words})`, candidates: CANDIDATES, exclude: excludeTicketId, limit }) as { id: number; ref: string; subject: string; score: number }[];
  if (rows.length === 0) return [];
  const best = rows[0].score;
  return rows.filter((r) => r.score <= best / 2).map((r) => ({ ref: r.ref, subject: r.subject, solution: firstLines((c.lastReply.get(r.id) as string | undefined) ?? '') }));
}

/**
 * The tickets whose customers' messages are among the CANDIDATES best-ranked for the words
 * (FTS5 ranks only these, ORDER BY rank LIMIT, instead of every match), resolved or closed,
 * not merged, answered by an agent. CROSS JOIN keeps the few hits outside: else the planner
 * walks every resolved ticket (by the status index) and scans the hits for each, 50 ms on
 * 20,000 tickets.
 */
const SIMILAR = `
  with matched as materialized (
    select rowid as id, rank as score from messages_fts
    where messages_fts match :match and rank match 'bm25(4.0, 1.0, 0.0, 0.0)'
    order by rank limit :candidates
  ), hits as (
    select m.ticket_id as ticket_id, min(matched.score) as score
    from matched join messages m on m.id = matched.id
    where m.kind = 'customer'
    group by m.ticket_id
  )
  select t.id as id, t.ref as ref, t.subject as subject, hits.score as score
  from hits cross join tickets t on t.id = hits.ticket_id
  where t.status in ('resolved', 'closed') and t.merged_into is null and t.id <> :exclude
    and exists (select 1 from messages a where a.ticket_id = t.id and a.kind = 'agent_reply')
  order by hits.score, t.id desc
  limit :limit`;

interface WordCounts {
  counts: Database.Statement;
  messages: Database.Statement;
  similar: Database.Statement;
  lastReply: Database.Statement;
  /** Messages per word as last read, and since when: a lookup reads the index only for words not seen lately. */
  known: Map<string, number>;
  since: number;
}

/** Per connection: the prepared statements and the counts read lately. */
const perConnection = new WeakMap<object, WordCounts>();

/** Counts are read again after this long: which words are rare changes slowly. */
export const COUNTS_FOR_MS = 10 * 60_000;
export const COUNTS_KEPT = 50_000;

function wordCounts(client: Database.Database, now = Date.now()): WordCounts {
  let c = perConnection.get(client);
  if (!c) {
    c = {
      counts: client.prepare('select term, doc from messages_vocab where term in (select value from json_each(?))'),
      messages: client.prepare('select coalesce(max(id), 0) from messages').pluck(),
      similar: client.prepare(SIMILAR),
      lastReply: client.prepare("select text from messages where ticket_id = ? and kind = 'agent_reply' order by id desc limit 1").pluck(),
      known: new Map(),
      since: now,
    };
    perConnection.set(client, c);
  }
  if (now - c.since > COUNTS_FOR_MS || c.known.size > COUNTS_KEPT) {
    c.known = new Map();
    c.since = now;
  }
  return c;
}

/**
 * The question's words that say most about it: the ones fewest messages have (the index's
 * own word counts, `messages_vocab`), at most RARE_WORDS, none that more than COMMON_SHARE of
 * all messages have. Matching all the question's words instead took 140 ms per lookup on
 * 20,000 tickets (bm25 of nearly every message, bench:search); reading 32 counts from
 * fts5vocab takes 4 ms, hence the counts kept for a while.
 */
function rareWords(c: WordCounts, words: string[]): string | null {
  const byTerm = new Map(words.map((w) => [indexTerm(w), w]));
  const unknown = [...byTerm.keys()].filter((t) => !c.known.has(t));
  // A word no message has yet is not remembered: the next message may bring it.
  if (unknown.length > 0) for (const r of c.counts.all(JSON.stringify(unknown)) as { term: string; doc: number }[]) c.known.set(r.term, r.doc);
  const rare = pickRare([...byTerm.keys()], (term) => c.known.get(term) ?? 0, c.messages.get() as number);
  return rare.length === 0 ? null : rare.map((term) => ftsString(byTerm.get(term) as string)).join(' OR ');
}

/**
 * Of `terms`, the ones fewest messages have (`messagesWith`), rarest first, at most RARE_WORDS;
 * none that no message has, nor one in more than COMMON_SHARE of the `total` messages (or FEW
 * in a young desk). Both stores choose a question's words this way.
 */
export function pickRare(terms: string[], messagesWith: (term: string) => number, total: number): string[] {
  return terms
    .map((term) => ({ term, doc: messagesWith(term) }))
    .filter((x) => x.doc > 0 && x.doc <= Math.max(FEW, total * COMMON_SHARE))
    .sort((a, b) => a.doc - b.doc)
    .slice(0, RARE_WORDS)
    .map((x) => x.term);
}

const RARE_WORDS = 8;
/** The best-ranked messages considered; FTS5 ranks only these (ORDER BY rank LIMIT) instead of every match. */
export const CANDIDATES = 300;
const COMMON_SHARE = 0.02;
/** In a young desk every word is in a few messages: none that are in this many or fewer is too common. */
const FEW = 20;

/** The first lines of the reply that solved a ticket, as a notification shows them. */
export function firstLines(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, SOLUTION_LINES)
    .join('\n');
  return lines.length > SOLUTION_CHARS ? `${lines.slice(0, SOLUTION_CHARS - 1).trimEnd()}…` : lines;
}
