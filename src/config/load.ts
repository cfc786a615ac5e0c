import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import { Document, isMap, isNode, isScalar, LineCounter, parseDocument, visit, type Node, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { HelpdeskError } from '../lib/errors';
import { checkConfig } from './check';
import { agentsFileSchema, customersFileSchema, helpdeskFileSchema, rulesFileSchema, type Config } from './schema';

/** One problem in one config file, with its position (1-based) when it has one. */
export interface ConfigProblem {
  file: string;
  line: number | null;
  column: number | null;
  message: string;
}

export class ConfigError extends HelpdeskError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('CONFIG_INVALID', problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.message}`;
}

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /**
   * `error` (the default): a `${VAR}` whose variable is not set is a problem, as the daemon
   * needs every value. `keep`: it stays as written, for commands that never use the values it
   * holds (the IMAP password in an admin's shell running `tickets list`).
   */
  unsetVariables?: 'error' | 'keep';
}

/**
 * Reads and validates config/helpdesk.yaml, agents.yaml, rules.yaml and customers.yaml.
 * helpdesk.yaml is required; the others may be absent (no agents, rules or customers). Every problem found in any
 * file is collected and thrown together as one ConfigError, so the admin fixes them in one go.
 */
export function loadConfig(dir: string, env: Env = process.env, options: LoadOptions = {}): Config {
  const problems: ConfigProblem[] = [];
  const locators = new Map<string, Locate>();
  const keep = options.unsetVariables === 'keep';
  const main = loadFile(path.join(dir, 'helpdesk.yaml'), helpdeskFileSchema, env, problems, true, locators, keep);
  const agents = loadFile(path.join(dir, 'agents.yaml'), agentsFileSchema, env, problems, false, locators, keep);
  const rules = loadFile(path.join(dir, 'rules.yaml'), rulesFileSchema, env, problems, false, locators, keep);
  const customers = loadFile(path.join(dir, 'customers.yaml'), customersFileSchema, env, problems, false, locators, keep);
  if (problems.length > 0 || !main || !agents || !rules || !customers) throw new ConfigError(problems);
  for (const p of checkConfig(agents, rules, customers)) {
    const file = path.join(dir, p.file);
    problems.push({ file, ...(locators.get(file)?.(p.path) ?? { line: null, column: null }), message: `${pathLabel(p.path, (list, i) => (list === 'rules' ? rules.rules[i]?.name : list === 'escalation' ? rules.escalation[i]?.name : customers.organisations[i]?.name))}: ${p.message}` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    dir,
    helpdesk: main.helpdesk,
    triage: main.triage,
    prediction: main.prediction,
    spam: main.spam,
    mailboxes: main.mailboxes,
    outgoing: main.outgoing,
    notifications: main.notifications,
    replies: main.replies,
    jobs: main.jobs,
    health: main.health,
    store: main.store,
    cluster: main.cluster,
    limits: main.limits,
    defaults: main.defaults,
    sla: main.sla,
    trust: agents.trust,
    agents: agents.agents,
    groups: agents.groups,
    rules: rules.rules,
    escalation: rules.escalation,
    levels: customers.levels,
    organisations: customers.organisations,
  };
}

type Locate = (path: (string | number)[]) => Pick<ConfigProblem, 'line' | 'column'>;

function loadFile<S extends z.ZodType>(
  file: string,
  schema: S,
  env: Env,
  problems: ConfigProblem[],
  required: boolean,
  locators: Map<string, Locate>,
  keepUnset: boolean,
): z.output<S> | null {
  if (!existsSync(file)) {
    if (required) {
      problems.push({ file, line: null, column: null, message: 'file not found' });
      return null;
    }
    return schema.parse({}) as z.output<S>;
  }
  return parseYamlConfig(file, readFileSync(file, 'utf8'), schema, env, problems, (locate) => locators.set(file, locate), keepUnset);
}

/** Parses one YAML text against a schema; exported for tests and `config check`. */
export function parseYamlConfig<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  env: Env,
  problems: ConfigProblem[],
  onLocate?: (locate: Locate) => void,
  keepUnset = false,
): z.output<S> | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined): Pick<ConfigProblem, 'line' | 'column'> => {
    if (offset === undefined) return { line: null, column: null };
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    // The first syntax error only: the ones after it are mostly its consequences.
    const { offset, message } = yamlSyntaxError(text, doc.errors[0]);
    problems.push({ file, ...at(offset), message });
    return null;
  }
  const before = problems.length;
  substituteEnv(doc, env, keepUnset ? null : (offset, message) => problems.push({ file, ...at(offset), message }));
  if (problems.length > before) return null;

  onLocate?.((p) => at(nodeAt(doc, p)?.range?.[0]));
  // reportInput: the issue carries the value written, so a message can say what was found.
  const result = schema.safeParse(doc.toJS() ?? {}, { reportInput: true });
  if (result.success) return result.data as z.output<S>;
  for (const issue of unionResolved(result.error.issues)) {
    // An unknown key is pointed at where it is written, not at the mapping that holds it.
    const node = issue.code === 'unrecognized_keys' ? (keyNode(doc, issue.path as (string | number)[], issue.keys[0]) ?? nodeAt(doc, issue.path as (string | number)[])) : nodeAt(doc, issue.path as (string | number)[]);
    const key = issue.path.length > 0 ? `${pathLabel(issue.path as (string | number)[], (list, i) => doc.getIn([list, i, 'name']))}: ` : '';
    problems.push({ file, ...at(node?.range?.[0]), message: `${key}${describeIssue(issue, schema)}` });
  }
  return null;
}

/**
 * A YAML syntax error as one sentence, at the place to fix: an unclosed `[`, `{` or quote is
 * reported where it opens (the parser notices only lines later, where indentation ends it).
 */
function yamlSyntaxError(text: string, err: YAMLError): { offset: number; message: string } {
  const first = err.message.split('\n')[0];
  const opener = (char: string) => text.lastIndexOf(char, err.pos[0] - 1);
  const unclosed = /^Flow sequence/.test(first) ? { char: '[', close: ']', what: 'list' } : /^Flow map/.test(first) ? { char: '{', close: '}', what: 'mapping' } : null;
  if (unclosed && opener(unclosed.char) >= 0) {
    return { offset: opener(unclosed.char), message: `this ${unclosed.what} opened with ${unclosed.char} is not closed: end it with ${unclosed.close} (a list or mapping written in brackets that goes on to the next lines must be indented more than its key)` };
  }
  const quote = /^Missing closing (["'])/.exec(first)?.[1];
  if (quote && opener(quote) >= 0) return { offset: opener(quote), message: `this text opened with ${quote} is not closed: end it with ${quote}` };
  return { offset: err.pos[0], message: first };
}

/** Replaces `${VAR}` in every string scalar; a variable that is not set is reported, or (report null) left as written. */
function substituteEnv(doc: Document, env: Env, report: ((offset: number | undefined, message: string) => void) | null): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      node.value = node.value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (written, name: string) => {
        const value = env[name];
        if (value === undefined) {
          if (!report) return written;
          report(node.range?.[0], `environment variable ${name} is not set`);
          return '';
        }
        return value;
      });
    },
  });
}

/** The deepest node that exists along a path, so an error about a missing key points at its parent. */
function nodeAt(doc: Document, pathParts: (string | number)[]): Node | undefined {
  for (let n = pathParts.length; n >= 0; n--) {
    const found: unknown = n === 0 ? doc.contents : doc.getIn(pathParts.slice(0, n), true);
    if (isNode(found)) return found;
    if (isScalar(found)) return found;
  }
  return undefined;
}

/**
 * zod reports a value that fits no alternative of a union as one "Invalid input" holding every
 * alternative's issues. The admin meant one of them: the alternative of the same kind (not a
 * text where a mapping was written), with keys it knows, and the fewest issues; its issues are
 * reported at their own paths (`then.assign.strategy`), not the union's.
 */
function unionResolved(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const badness = (branch: z.core.$ZodIssue[]) =>
      (branch.some((i) => i.path.length === 0 && i.code === 'invalid_type') ? 1000 : 0) + (branch.some((i) => i.path.length === 0 && i.code === 'unrecognized_keys') ? 100 : 0) + branch.length;
    const sorted = [...issue.errors].sort((a, b) => badness(a) - badness(b));
    // Unknown keys in every alternative: the key is the mistake (a missing key is its consequence).
    const unknown = sorted[0].filter((i) => i.path.length === 0 && i.code === 'unrecognized_keys');
    const best = unknown.length > 0 ? unknown : sorted[0];
    return unionResolved(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue));
  });
}

function describeIssue(issue: z.core.$ZodIssue, schema: z.ZodType): string {
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(schema, issue.path as (string | number)[]);
    const guesses = issue.keys.map((k) => ({ k, guess: known.length > 0 ? closest(k, known) : null })).filter((g) => g.guess !== null && distance(g.k, g.guess) <= Math.max(2, Math.floor(g.k.length / 4)));
    return `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}${guesses.map((g) => `; did you mean ${g.guess} (for ${g.k})?`).join('')}`;
  }
  if (issue.code === 'invalid_value' && issue.values.length > 1) {
    const allowed = issue.values.map(String);
    const written = typeof issue.input === 'string' ? issue.input : null;
    const guess = written !== null ? closest(written, allowed) : null;
    const near = guess !== null && written !== null && distance(written, guess) <= Math.max(2, Math.floor(written.length / 3));
    return `expected one of ${allowed.join(', ')}, got ${describeValue(issue.input)}${near ? `; did you mean ${guess}?` : ''}`;
  }
  if (issue.code === 'invalid_type') {
    return issue.input === undefined ? `required, expected ${withArticle(issue.expected)}` : `expected ${withArticle(issue.expected)}, got ${describeValue(issue.input)}`;
  }
  return issue.message;
}

/**
 * A key's path as an admin reads it: `rules.2.then.assign` is `rule 3 "billing to finance":
 * then.assign` (counted from 1, with the rule's name when it has one); other paths joined by dots.
 */
const NAMED_LISTS: Record<string, string> = { rules: 'rule', escalation: 'escalation', organisations: 'organisation' };

function pathLabel(parts: (string | number)[], ruleName: (list: string, index: number) => unknown): string {
  const noun = typeof parts[0] === 'string' ? NAMED_LISTS[parts[0]] : undefined;
  if (!noun || typeof parts[1] !== 'number') return parts.join('.');
  const name = ruleName(parts[0] as string, parts[1]);
  const rule = `${noun} ${parts[1] + 1}${typeof name === 'string' && name ? ` "${name}"` : ''}`;
  return parts.length > 2 ? `${rule}: ${parts.slice(2).join('.')}` : rule;
}

/**
 * The keys the schema allows in the mapping at `parts` (for "did you mean"); [] when the path
 * does not lead to an object. zod keeps wrappers (default, optional, prefault, refinements) in
 * its internal `_zod.def`, which is not typed for walking, hence the loose type here.
 */
function keysAt(schema: z.ZodType, parts: (string | number)[]): string[] {
  type Loose = { shape?: Record<string, Loose>; element?: Loose; _zod?: { def?: { innerType?: Loose; in?: Loose; schema?: Loose; getter?: () => Loose; options?: Loose[] } } };
  const unwrap = (s: Loose | undefined): Loose | undefined => {
    let x = s;
    for (let i = 0; i < 10 && x && !x.shape && !x.element; i++) {
      const def = x._zod?.def;
      // A union of mappings (assign: {agent} or {group, strategy}) allows the keys of each.
      if (def?.options) {
        const shapes = def.options.map(unwrap).filter((o): o is Loose => Boolean(o?.shape));
        return shapes.length > 0 ? { shape: Object.assign({}, ...shapes.map((o) => o.shape)) as Record<string, Loose> } : undefined;
      }
      x = def?.innerType ?? def?.in ?? def?.schema ?? def?.getter?.();
    }
    return x;
  };
  let at = unwrap(schema as unknown as Loose);
  for (const p of parts) at = unwrap(typeof p === 'number' ? at?.element : at?.shape?.[p]);
  return at?.shape ? Object.keys(at.shape) : [];
}

/** "number" → "a number", "array" → "a list": the words of someone editing YAML. */
function withArticle(expected: string): string {
  const words: Record<string, string> = { array: 'a list', object: 'a mapping (key: value)', string: 'text', number: 'a number', boolean: 'true or false', int: 'a whole number' };
  return words[expected] ?? expected;
}

/** What was written, as YAML shows it: `the text "lots"`, `the number 5`, `a list`. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the text "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value === 'number' ? 'number' : 'value'} ${String(value)}`;
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

/** The node of `key` inside the mapping at `pathParts`, when it is there. */
function keyNode(doc: Document, pathParts: (string | number)[], key: string | undefined): Node | undefined {
  const map = pathParts.length === 0 ? doc.contents : doc.getIn(pathParts, true);
  if (!key || !isMap(map)) return undefined;
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}
