import { sql, type SQL } from 'drizzle-orm';
import type { Config } from '../config/schema';
import type { PgDb } from '../store/pg/reads';
import * as s from '../store/pg/schema';
import { pgFilterConditions, pgView } from '../store/pg/views';
import type { SearchTerm } from './query';
import { ticketQuery, type TicketHit } from './tickets';

/**
 * `helpdesk tickets search` on PostgreSQL (search/tickets.ts searchTickets on SQLite): the
 * same query language, matched against `messages.search` (subject, text, sender; English
 * stemming, accents ignored: the `helpdesk_search` configuration of migration 0004) one
 * message at a time, best first. The score is minus ts_rank, so that lower is better on both
 * stores (SQLite's is bm25); a snippet is ts_headline of the best message.
 */
export async function pgSearchTickets(db: PgDb, config: Config, query: string, limit: number): Promise<TicketHit[]> {
  const q = ticketQuery(config, query);
  const view = pgView(db);
  if (!q.match) return (await view.listTickets({ filters: q.filters, limit })).map((t) => ({ ...t, score: null, snippet: null }));
  const tsquery = termsQuery(q.terms);
  const where = pgFilterConditions(q.filters, { hideSpam: true });
  const hits = await db.execute<{ id: number; ref: string; score: number }>(sql`
    with matched as (
      select m.ticket_id, max(ts_rank(m.search, ${tsquery})) as score
      from ${s.messages} m
      where m.search @@ ${tsquery}
      group by m.ticket_id
    )
    select ${s.tickets.id} as id, ${s.tickets.ref} as ref, matched.score as score
    from matched join ${s.tickets} on ${s.tickets.id} = matched.ticket_id
    left join ${s.contacts} on ${s.contacts.id} = ${s.tickets.customerId}
    ${where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``}
    order by matched.score desc, ${s.tickets.id} desc
    limit ${limit}`);
  const out: TicketHit[] = [];
  for (const h of hits.rows) {
    const [t] = await view.listTickets({ ref: h.ref });
    const best = await db.execute<{ snippet: string }>(sql`
      select ts_headline('helpdesk_search', m.subject || ' ' || m.text, ${tsquery}, 'StartSel=**, StopSel=**, MaxWords=16, MinWords=6') as snippet
      from ${s.messages} m where m.ticket_id = ${h.id} and m.search @@ ${tsquery}
      order by ts_rank(m.search, ${tsquery}) desc, m.id limit 1`);
    if (t) out.push({ ...t, score: -Math.round(Number(h.score) * 1000) / 1000, snippet: best.rows[0]?.snippet.replace(/\s+/g, ' ').trim() ?? null });
  }
  return out;
}

/**
 * The terms as one tsquery: each word or phrase must be in the message (a phrase's words in
 * order), a negated one must not. A prefix (`toner*`) matches unstemmed, so `print*` finds
 * printer. Only letters and digits of the user's words reach the query: nothing typed is
 * tsquery syntax.
 */
function termsQuery(terms: SearchTerm[]): SQL {
  const one = (t: SearchTerm): SQL => {
    if (!t.prefix) return sql`phraseto_tsquery('helpdesk_search', ${t.text})`;
    const words = t.text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const last = words.pop() as string;
    // Unaccented as the index is (migration 0004): "impresió*" finds "impresión".
    const prefix = sql`to_tsquery('simple', unaccent(${last}) || ':*')`;
    return words.length === 0 ? prefix : sql`(phraseto_tsquery('helpdesk_search', ${words.join(' ')}) <-> ${prefix})`;
  };
  const parts = terms.map((t) => (t.negated ? sql`!!${one(t)}` : one(t)));
  return sql`(${sql.join(parts, sql` && `)})`;
}
