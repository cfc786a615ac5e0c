import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import MiniSearch from 'minisearch';
import { z } from 'zod';
import { rereadOnChange, type RereadOnChange } from '../lib/reread-on-change';
import { parseYamlConfig, type ConfigProblem } from '../config/load';
import { LOCALES, type Config } from '../config/schema';
import { indexTerm, isStopWord, questionWords } from '../search/question';

/**
 * The knowledge base (issue #22): Markdown articles under `<config>/kb/`, each with a YAML
 * front matter — `title`, `topics`, `locale`, `audience: public|internal` — searched by
 * MiniSearch (BM25 over title, topics and text, the words stemmed as the ticket index
 * stems them). `public` articles may be offered to customers; `internal` ones only to agents.
 */

export const AUDIENCES = ['public', 'internal'] as const;

const frontMatterSchema = z.strictObject({
  /** What the article answers, shown in suggestions. */
  title: z.string().trim().min(1),
  /** Words a question about it may use that the text does not; they weigh twice a word of the text. */
  topics: z.array(z.string().trim().min(1)).default([]),
  /** The language it is written in; absent: `helpdesk.locale`. */
  locale: z.enum(LOCALES).optional(),
  /** Who may be shown it: `internal` (default, agents only) or `public` (also customers). */
  audience: z.enum(AUDIENCES).default('internal'),
});

export interface Article {
  /** The path under kb/ without `.md`: `printers/paper-jam`. */
  id: string;
  file: string;
  title: string;
  topics: string[];
  locale: string;
  audience: (typeof AUDIENCES)[number];
  /** The Markdown after the front matter. */
  body: string;
}

export type KbProblem = Pick<ConfigProblem, 'file' | 'line' | 'message'>;

export interface ArticleHit {
  article: Article;
  score: number;
}

export interface KnowledgeBase {
  dir: string;
  articles: Article[];
  problems: KbProblem[];
  /** Articles for a question in free text, best first. */
  search(question: string, options?: { locale?: string; audience?: 'public'; limit?: number }): ArticleHit[];
}

/** A hit scoring below this share of the best one is not offered: it shares only a word or two. */
const RELATIVE_FLOOR = 0.35;

export function kbDir(config: Config): string {
  return path.join(config.dir, 'kb');
}

/** Reads and checks every article; a file with a problem is left out of the index. */
export function loadKnowledgeBase(dir: string, defaultLocale: string): KnowledgeBase {
  const articles: Article[] = [];
  const problems: KbProblem[] = [];
  for (const file of markdownFiles(dir)) {
    const article = readArticle(dir, file, defaultLocale, problems);
    if (article) articles.push(article);
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
  const index = new MiniSearch<Article & { topicText: string }>({
    fields: ['title', 'topicText', 'body'],
    idField: 'id',
    processTerm: (term) => (term.length < 2 || isStopWord(term) ? null : indexTerm(term)),
  });
  index.addAll(articles.map((a) => ({ ...a, topicText: a.topics.join(' ') })));
  const byId = new Map(articles.map((a) => [a.id, a]));
  return {
    dir,
    articles,
    problems,
    search(question, options = {}) {
      const words = questionWords(question, 48);
      if (words.length === 0) return [];
      const hits = index
        .search(words.join(' '), {
          boost: { title: 3, topicText: 2 },
          combineWith: 'OR',
          filter: (r) => {
            const a = byId.get(String(r.id));
            return Boolean(a && (!options.locale || a.locale === options.locale) && (!options.audience || a.audience === options.audience));
          },
        })
        // One shared word ("needs", "message") of a longer question is chance, not an answer:
        // a question of more than three topic words must share two with the article.
        .filter((r) => r.queryTerms.length >= (words.length > 3 ? 2 : 1))
        .map((r) => ({ article: byId.get(String(r.id)) as Article, score: r.score }));
      const best = hits[0]?.score ?? 0;
      return hits.filter((h) => h.score >= best * RELATIVE_FLOOR).slice(0, options.limit ?? 3);
    },
  };
}

function markdownFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.md') && !path.basename(n).startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** One article, or null with its problems (file:line) recorded. */
export function readArticle(dir: string, file: string, defaultLocale: string, problems: KbProblem[]): Article | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    problems.push({ file, line: null, message: `cannot be read: ${(err as Error).message}` });
    return null;
  }
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') {
    problems.push({ file, line: 1, message: 'no front matter: start the article with a line "---", then title:, topics:, locale:, audience:, then "---"' });
    return null;
  }
  const end = lines.findIndex((l, i) => i > 0 && (l.trim() === '---' || l.trim() === '...'));
  if (end < 0) {
    problems.push({ file, line: 1, message: 'the front matter opened here is not closed: end it with a line "---"' });
    return null;
  }
  const found: ConfigProblem[] = [];
  // Parsed as the config files are (same messages, did-you-mean); lines counted from the file's start.
  const meta = parseYamlConfig(file, lines.slice(1, end).join('\n'), frontMatterSchema, {}, found, undefined, true);
  for (const p of found) problems.push({ file, line: p.line === null ? 1 : p.line + 1, message: p.message });
  const body = lines
    .slice(end + 1)
    .join('\n')
    .trim();
  if (meta && body === '') problems.push({ file, line: end + 2, message: 'the article has no text after its front matter' });
  if (!meta || body === '') return null;
  return {
    id: path.relative(dir, file).replace(/\\/g, '/').replace(/\.md$/, ''),
    file,
    title: meta.title,
    topics: meta.topics,
    locale: meta.locale ?? defaultLocale,
    audience: meta.audience,
    body,
  };
}

/** The article's text without Markdown marks, cut after `lines` non-empty lines: for mail. */
export function articleExcerpt(article: Article, lines = 3): string {
  return article.body
    .split(/\r?\n/)
    .map((l) =>
      l
        .replace(/^#{1,6}\s+|^\s*[-*+]\s+|^\s*>\s?/g, '')
        .replace(/[*_`]+/g, '')
        .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
        .trim(),
    )
    .filter(Boolean)
    .slice(0, lines)
    .join('\n');
}

const bases = new Map<string, RereadOnChange<KnowledgeBase>>();

/**
 * The desk's knowledge base, read again when its files changed (looked at, on use, at most
 * once a second): an admin's edit is in force for the next notification without a restart.
 */
export function knowledgeBaseFor(config: Config, now = Date.now()): KnowledgeBase {
  const dir = kbDir(config);
  const key = `${dir}\u0000${config.helpdesk.locale}`;
  let base = bases.get(key);
  if (!base) {
    base = rereadOnChange(
      () => markdownFiles(dir),
      () => loadKnowledgeBase(dir, config.helpdesk.locale),
    );
    bases.set(key, base);
  }
  return base.get(now);
}
