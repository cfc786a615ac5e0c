import type { Config } from '../config/schema';
import type { SimilarTicket } from '../search/similar';
import { replyText } from '../pipeline/reply-text';
import { articleExcerpt, knowledgeBaseFor } from './kb';

/**
 * Suggestions in notifications (issue #22), filled in when the mail is rendered by the outbox
 * worker, not while the message is ingested: the lookups read the search index on the store's
 * read-only connection, after the message's batch is committed, and cost the intake nothing
 * (in the notify stage they halved bench:ingest's rate). A mail sent again after a crash looks
 * them up again.
 */

/** What the notify stage asks for, stored in the outbox row's data as `suggest`. */
export interface SuggestRequest {
  /** agents: articles of any audience and similar solved tickets; customer: public articles in `locale`. */
  audience: 'agents' | 'customer';
  subject: string;
  text: string;
  /** A reply: the question is what was written now, without the quoted history (cut here, off the intake's path). */
  reply?: boolean;
  locale?: string;
}

/** Articles put into a mail (an `articles_suggested` or `articles_offered` event when it is sent). */
export interface SuggestedArticles {
  audience: 'agents' | 'customer';
  articles: string[];
  tickets: string[];
}

/** The store's similar solved tickets (search/similar.ts on SQLite, search/pg-similar.ts on PostgreSQL). */
export type SimilarLookup = (question: { subject: string; text: string }, excludeTicketId: number, limit: number) => SimilarTicket[] | Promise<SimilarTicket[]>;

/** At most this many articles, and similar tickets, in one notification. */
const SUGGESTED = 3;

export interface Suggestions {
  articles: { id: string; title: string; excerpt: string; internal: boolean }[];
  tickets: SimilarTicket[];
}

/**
 * The template data a request comes to — `suggestions` (agents; null when there is nothing)
 * or `articles` (customer) — and what to record.
 */
export async function suggestionsFor(similar: SimilarLookup, config: Config, request: SuggestRequest, ticketId: number | null): Promise<{ data: Record<string, unknown>; suggested: SuggestedArticles | null }> {
  const text = request.reply ? replyText(request.text) : request.text;
  const question = `${request.subject}\n${text}`;
  const kb = knowledgeBaseFor(config);
  if (request.audience === 'customer') {
    const hits = kb.search(question, { locale: request.locale, audience: 'public', limit: SUGGESTED });
    return {
      data: { articles: hits.map(({ article: a }) => ({ id: a.id, title: a.title, text: articleExcerpt(a, 60) })) },
      suggested: hits.length > 0 ? { audience: 'customer', articles: hits.map((h) => h.article.id), tickets: [] } : null,
    };
  }
  const articles = kb.search(question, { limit: SUGGESTED });
  const tickets = await similar({ subject: request.subject, text }, ticketId ?? -1, SUGGESTED);
  if (articles.length === 0 && tickets.length === 0) return { data: { suggestions: null }, suggested: null };
  const suggestions: Suggestions = {
    articles: articles.map(({ article: a }) => ({ id: a.id, title: a.title, excerpt: articleExcerpt(a, 3), internal: a.audience === 'internal' })),
    tickets,
  };
  return { data: { suggestions }, suggested: { audience: 'agents', articles: articles.map((a) => a.article.id), tickets: tickets.map((t) => t.ref) } };
}
