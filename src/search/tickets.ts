import type { Config } from '../config/schema';
import { findAgentNamed } from '../pipeline/agents';
import type { Db } from '../store/open';
import { searchTicketIds, ticketSnippet } from '../store/search';
import { listTickets, type TicketSummary } from '../store/tickets';
import { parseSearchQuery, SearchQueryError, type SearchQuery } from './query';

export interface TicketHit extends TicketSummary {
  /** bm25 of the best message (lower is better); null for a query of filters only. */
  score: number | null;
  /** The best passage with the words found between `**`; null for a query of filters only. */
  snippet: string | null;
}

/** The query with agent names resolved to the addresses tickets record. */
export function ticketQuery(config: Config, query: string): SearchQuery {
  const q = parseSearchQuery(query, config.helpdesk.timezone);
  if (q.filters.assignee) {
    q.filters.assignee = q.filters.assignee.map((who) => {
      if (who === 'none') return who;
      const agent = findAgentNamed(config, who);
      if (!agent) throw new SearchQueryError(`assignee: no agent "${who}" (agents: ${config.agents.map((a) => a.name).join(', ') || 'none configured'}; "none" for unassigned)`);
      return agent.email;
    });
  }
  return q;
}

/**
 * `helpdesk tickets search`: tickets whose messages (subject, text, internal notes, sender)
 * match the words, best first, with a snippet each; with filters only, the newest first.
 */
export function searchTickets(db: Db, config: Config, query: string, limit: number): TicketHit[] {
  const q = ticketQuery(config, query);
  if (!q.match) return listTickets(db, { filters: q.filters, limit }).map((t) => ({ ...t, score: null, snippet: null }));
  const match = q.match;
  const hits = searchTicketIds(db, match, q.filters, limit);
  if (hits.length === 0) return [];
  const byRef = new Map(listTickets(db, { ids: hits.map((h) => h.ticketId) }).map((t) => [t.ref, t]));
  return hits.flatMap((h) => {
    const t = byRef.get(h.ref);
    return t ? [{ ...t, score: Math.round(h.score * 1000) / 1000, snippet: ticketSnippet(db, h.ticketId, match) }] : [];
  });
}
