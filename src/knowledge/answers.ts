import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';
import { rereadOnChange, type RereadOnChange } from '../lib/reread-on-change';
import { check, makeEnv, templatesDir, type TemplateProblem } from '../mail-out/templates';

/**
 * Canned answers (issue #22): `templates/<locale>/answers/<name>.hbs`, Handlebars text
 * rendered with the ticket's data when an agent's reply says `#answer <name>`; the result is
 * part of the reply the customer receives and of the stored message.
 */

/** What an answer may use: `{{ticket.ref}}`, `{{customer.name}}`, `{{agent.name}}`, `{{helpdesk.name}}`… */
export interface AnswerData {
  ticket: { ref: string; subject: string; status: string; priority: string; severity: string; category: string | null; queue: string | null };
  customer: { name: string | null; address: string | null };
  agent: { name: string | null; address: string };
  helpdesk: { name: string; address: string };
}

/** The data `config check` renders every answer with (strict: a name not in AnswerData is an error). */
export const SAMPLE_ANSWER_DATA: AnswerData = {
  ticket: { ref: 'HD-1', subject: 'Printer broken', status: 'open', priority: 'medium', severity: 'medium', category: 'hardware', queue: 'support' },
  customer: { name: 'Carla Customer', address: 'carla@customer.example' },
  agent: { name: 'Ana', address: 'ana@example.com' },
  helpdesk: { name: 'Support', address: 'support@example.com' },
};

export interface AnswerBook {
  dir: string;
  /** Every answer's name, in any locale, sorted. */
  names(): string[];
  /** The answer in `locale`, else `helpdesk.locale`, else English, else any language that has it; null: no such answer. */
  render(name: string, locale: string, data: AnswerData): string | null;
  problems: TemplateProblem[];
}

type Compiled = (data: unknown) => string;

export function loadAnswers(config: Config): AnswerBook {
  const dir = templatesDir(config);
  const compiled = new Map<string, Map<string, Compiled>>();
  const problems: TemplateProblem[] = [];
  for (const { locale, name, file } of answerFiles(dir)) {
    const source = readFileSync(file, 'utf8');
    const problem = check(file, source) ?? unknownNames(file, source, locale, config);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const env = makeEnv('text', locale, () => config);
    if (!compiled.has(name)) compiled.set(name, new Map());
    compiled.get(name)?.set(locale, env.compile(source, { noEscape: true }));
  }
  return {
    dir,
    names: () => [...compiled.keys()].sort(),
    render(name, locale, data) {
      const byLocale = compiled.get(name.toLowerCase());
      if (!byLocale) return null;
      const t = byLocale.get(locale) ?? byLocale.get(config.helpdesk.locale) ?? byLocale.get('en') ?? [...byLocale.values()][0];
      return t(data).trim();
    },
    problems,
  };
}

/** `templates/<locale>/answers/<name>.hbs`; names are lower case: `#answer Printer-Reset` finds printer-reset. */
function answerFiles(dir: string): { locale: string; name: string; file: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((locale) => existsSync(path.join(dir, locale, 'answers')))
    .flatMap((locale) =>
      readdirSync(path.join(dir, locale, 'answers'))
        .filter((f) => f.endsWith('.hbs'))
        .sort()
        .map((f) => ({ locale, name: f.slice(0, -'.hbs'.length).toLowerCase(), file: path.join(dir, locale, 'answers', f) })),
    );
}

/** Renders with the sample data in strict mode: `{{ticket.reff}}` is an error at load, not an empty gap in a customer's mail. */
function unknownNames(file: string, source: string, locale: string, config: Config): TemplateProblem | null {
  try {
    makeEnv('text', locale, () => config).compile(source, { strict: true, noEscape: true })(SAMPLE_ANSWER_DATA);
    return null;
  } catch (err) {
    // Handlebars says `"reff" not defined in [object Object] - 2:12`.
    const first = (err as Error).message.split('\n')[0];
    const line = Number(/ - (\d+):\d+$/.exec(first)?.[1] ?? /line (\d+)/.exec(first)?.[1]) || null;
    const message = first.replace(/ in \[object Object\]/, '').replace(/ - \d+:\d+$/, '');
    return { file, line, message: `${message} (an answer may use ticket.*, customer.name, customer.address, agent.name, agent.address, helpdesk.name, helpdesk.address)` };
  }
}

const books = new Map<string, RereadOnChange<AnswerBook>>();

/** The answers of the desk, read again when their files change (looked at on use, at most once a second). */
export function answersFor(config: Config, now = Date.now()): AnswerBook {
  const dir = templatesDir(config);
  // The desk's language and time zone are part of what an answer renders with.
  const key = `${dir}\u0000${config.helpdesk.locale}\u0000${config.helpdesk.timezone}`;
  let book = books.get(key);
  if (!book) {
    book = rereadOnChange(
      () => answerFiles(dir).map((f) => f.file),
      () => loadAnswers(config),
    );
    books.set(key, book);
  }
  return book.get(now);
}
