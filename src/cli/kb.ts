import type { Command } from 'commander';
import { articleExcerpt, kbDir, loadKnowledgeBase, type KbProblem } from '../knowledge/kb';
import { configAt, locations, out, positiveInt } from './common';
import { CliExit, EXIT } from './exit-codes';

/** `file:line: message`, as editors and `config check` point at a place. */
export function problemLine(p: KbProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`;
}

export function registerKb(program: Command): void {
  const kb = program.command('kb').description('the knowledge base: Markdown articles in <config>/kb/');
  kb.command('check')
    .description('check every article (front matter, text); exit 1 with file:line for each problem')
    .option('--json', 'the articles and problems as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const config = configAt(locations(cmd), EXIT.CONFIG, { readOnly: true });
      const base = loadKnowledgeBase(kbDir(config), config.helpdesk.locale);
      if (opts.json) out(JSON.stringify({ dir: base.dir, articles: base.articles.map(({ body: _body, ...a }) => a), problems: base.problems }));
      else {
        for (const p of base.problems) out(problemLine(p));
        const byAudience = (a: string) => base.articles.filter((x) => x.audience === a).length;
        out(`${base.articles.length} articles in ${base.dir} (${byAudience('public')} public, ${byAudience('internal')} internal)${base.problems.length ? `, ${base.problems.length} problems` : ''}`);
      }
      if (base.problems.length > 0) throw new CliExit(EXIT.CHECK_FAILED, `${base.problems.length} problem(s) in the knowledge base: the articles named are not offered until fixed`);
    });
  kb.command('search')
    .description('the articles that best answer a question, as suggestions in notifications find them')
    .argument('<question>', 'words or a whole question')
    .option('--locale <locale>', 'only articles in this language')
    .option('--public', 'only public articles (what a customer may be offered)')
    .option('--limit <n>', 'at most this many (default 3, as notifications offer)', positiveInt('--limit'))
    .option('--json', 'a JSON array of {id, title, topics, locale, audience, score}')
    .action((question: string, opts: { locale?: string; public?: boolean; limit?: number; json?: boolean }, cmd: Command) => {
      const config = configAt(locations(cmd), EXIT.CONFIG, { readOnly: true });
      const base = loadKnowledgeBase(kbDir(config), config.helpdesk.locale);
      const hits = base.search(question, { locale: opts.locale, audience: opts.public ? 'public' : undefined, limit: opts.limit ?? 3 });
      if (opts.json) return out(JSON.stringify(hits.map((h) => ({ id: h.article.id, title: h.article.title, topics: h.article.topics, locale: h.article.locale, audience: h.article.audience, score: Math.round(h.score * 100) / 100 }))));
      if (hits.length === 0) return out('no article found');
      for (const h of hits) {
        out(`${h.article.id}  ${h.article.title}  [${h.article.locale}, ${h.article.audience}]`);
        for (const line of articleExcerpt(h.article, 2).split('\n')) out(`    ${line}`);
      }
    });
}
