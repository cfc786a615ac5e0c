import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import type { Config } from '../config/schema';
import { formatDuration } from '../lib/duration';
import { dateTimeFormat } from '../lib/intl-formats';
import { packageRoot } from '../lib/package-root';
import type { Logger } from '../lib/log';
import { watchFolder } from '../lib/watch-folder';
import { TEMPLATES, type TemplateName } from '../pipeline/types';

/**
 * The notification templates (templates/<locale>/<name>.{text,html}.hbs, an optional
 * <name>.subject.hbs, partials in templates/<locale>/partials/<name>.{text,html}.hbs). Loaded and compiled at start and on
 * change; a file that does not compile is reported with file and line and its previous
 * version stays in force. Values are escaped in html and left as they are in text.
 */

export interface TemplateProblem {
  file: string;
  line: number | null;
  message: string;
}

export interface Rendered {
  text: string;
  html: string;
  /** From `<name>.subject.hbs` when the locale has one (one line); else null: the outbox row's subject. */
  subject: string | null;
}

type Format = 'text' | 'html' | 'subject';
type Compiled = (data: unknown) => string;

export interface Templates {
  render(name: TemplateName, locale: string, data: Record<string, unknown>): Rendered;
  /** Problems of the last load (empty when every file compiled). */
  problems(): TemplateProblem[];
  reload(): TemplateProblem[];
  close(): void;
}

export function defaultTemplatesDir(): string {
  return path.join(packageRoot(), 'templates');
}

export function templatesDir(config: Config): string {
  return config.notifications.templates ? path.resolve(config.notifications.templates) : defaultTemplatesDir();
}

/** Loads every locale's templates; with a logger and `watch`, reloads them when files change. */
export function loadTemplates(dir: string, config: () => Config, options: { log?: Logger; watch?: boolean } = {}): Templates {
  // Key: `<locale>/<name>.<format>`; a file that fails to compile keeps its previous entry.
  const compiled = new Map<string, Compiled>();
  let problems: TemplateProblem[] = [];

  const load = (): TemplateProblem[] => {
    const found: TemplateProblem[] = [];
    const locales = existsSync(dir) ? readdirSync(dir).filter((d) => statSync(path.join(dir, d)).isDirectory()) : [];
    if (locales.length === 0) found.push({ file: dir, line: null, message: 'no locale folders (such as en/) with templates' });
    for (const locale of locales) {
      for (const format of ['text', 'html', 'subject'] as const) {
        const env = makeEnv(format, locale, config);
        const partialsDir = path.join(dir, locale, 'partials');
        const partialNames = new Set<string>();
        if (existsSync(partialsDir) && format !== 'subject') {
          for (const file of readdirSync(partialsDir).filter((f) => f.endsWith(`.${format}.hbs`))) {
            const full = path.join(partialsDir, file);
            const source = readFileSync(full, 'utf8');
            const problem = check(full, source);
            if (problem) found.push(problem);
            else {
              env.registerPartial(file.slice(0, -`.${format}.hbs`.length), source);
              partialNames.add(file.slice(0, -`.${format}.hbs`.length));
            }
          }
        }
        for (const name of TEMPLATES) {
          const full = path.join(dir, locale, `${name}.${format}.hbs`);
          if (!existsSync(full)) {
            // A subject template is optional: without one the mail keeps the subject it was queued with.
            if (format === 'subject') compiled.delete(`${locale}/${name}.${format}`);
            else found.push({ file: full, line: null, message: 'missing template' });
            continue;
          }
          const source = readFileSync(full, 'utf8');
          const problem = check(full, source) ?? missingPartial(full, source, partialNames);
          if (problem) {
            found.push(problem);
            continue;
          }
          compiled.set(`${locale}/${name}.${format}`, env.compile(source, { noEscape: format !== 'html', strict: false }));
        }
      }
    }
    problems = found;
    for (const p of found) options.log?.error({ file: p.file, line: p.line }, `template rejected, the previous version stays in force: ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
    return found;
  };
  load();
  const stop = options.watch && options.log ? watchFolder(dir, () => load(), options.log, 'templates', { recursive: true }) : () => undefined;

  return {
    render(name, locale, data) {
      const find = (format: Format): Compiled | undefined => {
        for (const l of [locale, config().helpdesk.locale, 'en']) {
          const t = compiled.get(`${l}/${name}.${format}`);
          if (t) return t;
        }
        return undefined;
      };
      const pick = (format: Format): Compiled => {
        const t = find(format);
        if (!t) throw new Error(`no ${format} template ${name} for locale ${locale} (templates folder ${dir})`);
        return t;
      };
      const subject = find('subject')?.(data).replace(/\s+/g, ' ').trim();
      return { text: pick('text')(data), html: pick('html')(data), subject: subject || null };
    },
    problems: () => problems,
    reload: load,
    close: stop,
  };
}

/** Compiles a template fully (precompile runs the parser and the compiler), for its errors. */
export function check(file: string, source: string): TemplateProblem | null {
  try {
    Handlebars.precompile(source);
    return null;
  } catch (err) {
    const e = err as Error & { lineNumber?: number };
    const line = e.lineNumber ?? (Number(/on line (\d+)/.exec(e.message)?.[1]) || null);
    return { file, line, message: e.message.split('\n')[0] };
  }
}

/** A partial that does not exist fails at render time; catch it at load instead. */
function missingPartial(file: string, source: string, partials: Set<string>): TemplateProblem | null {
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    for (const m of lines[i].matchAll(/\{\{~?>\s*([\w-]+)/g)) {
      if (!partials.has(m[1])) return { file, line: i + 1, message: `unknown partial "${m[1]}"` };
    }
  }
  return null;
}

const HELPER_TEXT: Record<string, Record<string, string>> = {
  en: { none: 'none' },
  es: { none: 'ninguno' },
};

/** A Handlebars environment with the helpers every template has (date, duration, quote, lines…). */
export function makeEnv(format: Format, locale: string, config: () => Config): typeof Handlebars {
  const env = Handlebars.create();
  const words = HELPER_TEXT[locale] ?? HELPER_TEXT.en;
  /**
   * A timestamp (ms) in the help desk's time zone, in the template's language, with the zone
   * named ("Thursday, December 10, 2026 at 05:00 PM GMT+1"): a customer in another zone reads
   * the right hour.
   */
  env.registerHelper('date', (ms: unknown) => {
    if (typeof ms !== 'number') return words.none;
    return dateTimeFormat(locale, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short', timeZone: config().helpdesk.timezone }).format(new Date(ms));
  });
  env.registerHelper('duration', (ms: unknown) => (typeof ms === 'number' ? formatDuration(ms, locale) : words.none));
  env.registerHelper('or', (a: unknown, b: unknown) => a || b);
  /** A value padded to a width, for text tables. */
  env.registerHelper('pad', (value: unknown, width: unknown) => String(value ?? '').padEnd(typeof width === 'number' ? width : 0));
  env.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  /** Each line of a text prefixed with "> ", as mail clients quote. */
  env.registerHelper('quote', (text: unknown) => {
    const quoted = String(text ?? '')
      .split(/\r?\n/)
      .map((l) => (l ? `> ${l}` : '>'))
      .join('\n');
    return format === 'html' ? new env.SafeString(env.escapeExpression(quoted).replace(/\n/g, '<br>\n')) : quoted;
  });
  /** Line breaks of a text kept in html (escaped first). */
  env.registerHelper('lines', (text: unknown) => (format === 'html' ? new env.SafeString(env.escapeExpression(String(text ?? '')).replace(/\r?\n/g, '<br>\n')) : String(text ?? '')));
  return env;
}
