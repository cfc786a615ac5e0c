import { sql } from 'drizzle-orm';
import type { PgDb } from '../store/pg/reads';
import { questionWords } from './question';
import { CANDIDATES, COUNTS_FOR_MS, COUNTS_KEPT, firstLines, pickRare, type SimilarTicket } from './similar';

/** Per database handle: how many messages have each word, as read lately, and since when. */
const counted = new WeakMap<object, { known: Map<string, number>; since: number }>();

/**
 * similarResolved (search/similar.ts) on PostgreSQL: the same choice of the question's rarest
 * words (pickRare), matched against `messages.search` (subject weight A, text B) and ranked by
 * ts_rank with the subject weighing four times the text, as SQLite's bm25(4.0, 1.0). A ticket
 * ranked below half the best one is left out. The words' message counts come from the GIN
 * index (one count per word not seen in the last COUNTS_FOR_MS), not from a vocabulary table,
 * which PostgreSQL does not keep.
 */
export async function pgSimilarResolved(db: PgDb, question: { subject: string; text: string }, excludeTicketId: number, limit = 3, now = Date.now()): Promise<SimilarTicket[]> {
  const words = questionWords(`${question.subject}\n${question.text.slice(0, 4000)}`, 32);
  if (words.length === 0) return [];
  let c = counted.get(db);
  if (!c || now - c.since > COUNTS_FOR_MS || c.known.size > COUNTS_KEPT) {
    c = { known: new Map(), since: now };
    counted.set(db, c);
  }
  const known = c.known;
  const unknown = words.filter((w) => !known.has(w));
  if (unknown.length > 0) {
    const rows = await db.execute<{ word: string; doc: number }>(
      sql`select w as word, (select count(*) from messages m where m.search @@ plainto_tsquery('helpdesk_search', w))::int as doc from unnest(${sql.param(unknown)}::text[]) as w`,
    );
    // A word no message has yet is not remembered: the next message may bring it.
    for (const r of rows.rows) if (r.doc > 0) known.set(r.word, r.doc);
  }
  const total = Number((await db.execute<{ n: string }>(sql`select coalesce(max(id), 0) as n from messages`)).rows[0].n);
  const rare = pickRare(words, (w) => known.get(w) ?? 0, total);
  if (rare.length === 0) return [];
  // websearch syntax: the words joined by `or`, whatever they contain.
  const query = rare.join(' or ');
  const rows = await db.execute<{ id: number; ref: string; subject: string; score: number; reply: string | null }>(sql`
    with q as (select websearch_to_tsquery('helpdesk_search', ${query}) as q),
    matched as materialized (
      select m.ticket_id, ts_rank('{0, 0, 0.25, 1}', m.search, q.q) as score
      from messages m, q
      where m.search @@ q.q and m.kind = 'customer'
      order by score desc limit ${CANDIDATES}
    ), hits as (
      select ticket_id, max(score) as score from matched group by ticket_id
    )
    select t.id, t.ref, t.subject, hits.score,
      (select a.text from messages a where a.ticket_id = t.id and a.kind = 'agent_reply' order by a.id desc limit 1) as reply
    from hits join tickets t on t.id = hits.ticket_id
    where t.status in ('resolved', 'closed') and t.merged_into is null and t.id <> ${excludeTicketId}
      and exists (select 1 from messages a where a.ticket_id = t.id and a.kind = 'agent_reply')
    order by hits.score desc, t.id desc
    limit ${limit}`);
  if (rows.rows.length === 0) return [];
  const best = Number(rows.rows[0].score);
  return rows.rows.filter((r) => Number(r.score) >= best / 2).map((r) => ({ ref: r.ref, subject: r.subject, solution: firstLines(r.reply ?? '') }));
}
