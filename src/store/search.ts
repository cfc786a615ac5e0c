import { sql, type SQL } from 'drizzle-orm';
import type { TicketFilters } from '../search/query';
import type { Db } from './open';
import { contacts, tickets } from './schema';

/**
 * Full-text search over the messages (migration 0011: `messages_fts`, kept by triggers in the
 * message's own transaction) and the ticket filters of the search language (search/query.ts).
 */

/** bm25 weights of subject, text, from_address, from_name: a word in the subject counts most. */
const WEIGHTS = '4.0, 1.0, 2.0, 2.0';
/** As FTS5's `rank` (ORDER BY rank) and as a function call ordering snippets. */
const RANK = `bm25(${WEIGHTS})`;
const BM25 = sql.raw(`bm25(messages_fts, ${WEIGHTS})`);

/** The WHERE conditions of the filters, over `tickets` joined to its customer in `contacts`. */
export function filterConditions(f: TicketFilters, opts: { hideSpam?: boolean } = {}): SQL[] {
  const out: SQL[] = [];
  const oneOf = (column: SQL, values: string[] | undefined) => {
    if (values?.length) out.push(sql`lower(${column}) in (select lower(value) from json_each(${JSON.stringify(values)}))`);
  };
  oneOf(sql`${tickets.status}`, f.status);
  oneOf(sql`${tickets.priority}`, f.priority);
  oneOf(sql`${tickets.severity}`, f.severity);
  oneOf(sql`${tickets.queue}`, f.queue);
  oneOf(sql`${tickets.category}`, f.category);
  oneOf(sql`${tickets.organisation}`, f.organisation);
  oneOf(sql`${tickets.spamVerdict}`, f.spam);
  if (f.assignee?.length) {
    const named = f.assignee.filter((a) => a !== 'none');
    const parts = [named.length ? sql`lower(${tickets.assignee}) in (select value from json_each(${JSON.stringify(named)}))` : null, f.assignee.includes('none') ? sql`${tickets.assignee} is null` : null].filter((p): p is SQL => p !== null);
    out.push(sql`(${sql.join(parts, sql` or `)})`);
  }
  if (f.customer?.length) {
    // `@acme.example`: the domain; an address: that address; anything else: part of one.
    const each = f.customer.map((c) => (c.startsWith('@') ? sql`${contacts.email} like ${`%${c}`} escape '\\'` : c.includes('@') ? sql`${contacts.email} = ${c}` : sql`instr(${contacts.email}, ${c}) > 0`));
    out.push(sql`(${sql.join(each, sql` or `)})`);
  }
  for (const tag of f.tag ?? []) out.push(sql`exists (select 1 from json_each(${tickets.tags}) where lower(value) = lower(${tag}))`);
  if (f.since !== undefined) out.push(sql`${tickets.createdAt} >= ${f.since}`);
  if (f.until !== undefined) out.push(sql`${tickets.createdAt} < ${f.until}`);
  // Spam stays out of a search unless it is asked for.
  if (opts.hideSpam && !f.status?.includes('spam') && !f.spam?.length) out.push(sql`${tickets.status} <> 'spam'`);
  return out;
}

export interface SearchHit {
  ticketId: number;
  ref: string;
  /** bm25 of the ticket's best message: lower is better. */
  score: number;
}

/** The best-ranked messages read first; see searchTicketIds. */
const FIRST_MESSAGES = 1000;

/**
 * Tickets with a message matching `match` (FTS5) and passing the filters, best first (the
 * best message's bm25; ties: newer ticket first).
 *
 * First only the FIRST_MESSAGES best messages are grouped into tickets (FTS5 ranks them in C,
 * `ORDER BY rank LIMIT`): a ticket missing from them has every message ranked below all of
 * them, so when `limit` tickets pass the filters there, they are the answer. Otherwise every
 * match is grouped. A common word on 100,000 tickets took 1.7 s grouped whole (bench:search).
 */
export function searchTicketIds(db: Db, match: string, filters: TicketFilters, limit: number): SearchHit[] {
  const first = rankedTickets(db, match, filters, limit, FIRST_MESSAGES);
  return first.length >= limit ? first : rankedTickets(db, match, filters, limit, -1);
}

function rankedTickets(db: Db, match: string, filters: TicketFilters, limit: number, messages: number): SearchHit[] {
  const where = filterConditions(filters, { hideSpam: true });
  return db.all<SearchHit>(sql`
    with matched as materialized (
      select rowid as id, rank as score from messages_fts
      where messages_fts match ${match} and rank match ${RANK}
      order by rank limit ${messages}
    ), hits as (
      select m.ticket_id as ticket_id, min(matched.score) as score
      from matched join messages m on m.id = matched.id
      group by m.ticket_id
    )
    -- CROSS JOIN keeps the hits outside: else the planner may walk the tickets by a filter's
    -- index and scan the hits for each one.
    select hits.ticket_id as ticketId, ${tickets.ref} as ref, hits.score as score
    from hits cross join ${tickets} on ${tickets.id} = hits.ticket_id
    left join ${contacts} on ${contacts.id} = ${tickets.customerId}
    ${where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``}
    order by hits.score, hits.ticket_id desc
    limit ${limit}`);
}

/** The best-matching passage of one ticket's messages, the words found between `**`. */
export function ticketSnippet(db: Db, ticketId: number, match: string): string | null {
  const row = db.get<{ snippet: string } | undefined>(sql`
    select snippet(messages_fts, -1, '**', '**', '…', 16) as snippet
    from messages_fts
    where messages_fts match ${match} and rowid in (select id from messages where ticket_id = ${ticketId})
    order by ${BM25} limit 1`);
  return row ? row.snippet.replace(/\s+/g, ' ').trim() : null;
}

/** Rebuilds the index from the messages (`helpdesk tickets reindex`); returns the messages indexed. */
export function rebuildSearchIndex(db: Db): number {
  db.run(sql`insert into messages_fts(messages_fts) values ('rebuild')`);
  db.run(sql`insert into messages_fts(messages_fts) values ('optimize')`);
  return db.get<{ n: number }>(sql`select count(*) as n from messages`).n;
}

/** Throws when the index and the messages disagree (FTS5's integrity-check against its content). */
export function checkSearchIndex(db: Db): void {
  db.run(sql`insert into messages_fts(messages_fts, rank) values ('integrity-check', 1)`);
}
