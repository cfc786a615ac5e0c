import { escapeRegex } from '../lib/regex';
import { linearRegex, type LinearRegex } from '../lib/linear-regex';
import type { Config, RuleCondition } from '../config/schema';
import { inBusinessHours, localTime } from '../lib/local-time';
import type { InboundMail } from './types';
import type { Customer } from './customers';

/** What rule conditions are evaluated against. */
export interface RuleFacts {
  mail: InboundMail;
  category: string | null;
  spam: 'ham' | 'unsure' | 'spam' | null;
  at: number;
  /** The sender's organisation and contract (routeMail looks it up once per message). */
  customer: Customer | null;
}

/** Whether a condition holds, and why (one line per condition that decided it). */
export interface Match {
  matched: boolean;
  why: string[];
}

type Text = NonNullable<RuleCondition['subject']>;

/**
 * Evaluates a `when` block: every key in it must hold (AND); `all`, `any`, `not` combine
 * nested blocks. An empty block always holds. Pure: no I/O, regexes compiled once.
 */
export function matchCondition(c: RuleCondition, facts: RuleFacts, config: Config): Match {
  const why: string[] = [];
  const check = (holds: boolean, reason: string) => {
    if (holds) why.push(reason);
    return holds;
  };
  const { mail } = facts;
  const ok =
    (c.from === undefined || check(list(c.from).some((p) => addressMatches(p, mail.from?.address ?? '')), `from ${mail.from?.address ?? '(none)'} matches ${list(c.from).join(' | ')}`)) &&
    (c.to === undefined ||
      check(
        [...mail.to, ...mail.cc].some((a) => list(c.to as string | string[]).some((p) => addressMatches(p, a.address))),
        `to/cc matches ${list(c.to).join(' | ')}`,
      )) &&
    (c.subject === undefined || check(textMatches(c.subject, mail.subject), `subject ${describeText(c.subject)}`)) &&
    (c.body === undefined || check(textMatches(c.body, mail.text), `body ${describeText(c.body)}`)) &&
    (c.header === undefined ||
      Object.entries(c.header).every(([name, m]) =>
        check(
          mail.headers.some((h) => h.name === name.toLowerCase() && textMatches(m, h.value)),
          `header ${name} ${describeText(m)}`,
        ),
      )) &&
    (c.hasAttachment === undefined || check(realAttachments(mail).length > 0 === c.hasAttachment, c.hasAttachment ? 'has an attachment' : 'has no attachment')) &&
    (c.attachmentType === undefined ||
      check(
        realAttachments(mail).some((a) => list(c.attachmentType as string | string[]).some((t) => typeMatches(t, a.contentType, a.filename))),
        `attachment of type ${list(c.attachmentType).join(' | ')}`,
      )) &&
    (c.category === undefined || check(facts.category !== null && list(c.category).includes(facts.category), `category is ${facts.category}`)) &&
    (c.spam === undefined || check(facts.spam === c.spam, `spam verdict is ${c.spam}`)) &&
    (c.organisation === undefined || check(list(c.organisation).includes(facts.customer?.organisation ?? ''), `organisation is ${facts.customer?.organisation}`)) &&
    (c.contract === undefined || check(list(c.contract).includes(facts.customer?.contract ?? ''), `contract is ${facts.customer?.contract}`)) &&
    (c.contractValid === undefined || check((facts.customer?.contractValid ?? false) === c.contractValid, c.contractValid ? `contract ${facts.customer?.contract} is valid` : 'no valid contract')) &&
    (c.time === undefined || check(timeMatches(c.time, facts.at, config), `arrival time ${describeTime(c.time)}`)) &&
    (c.all === undefined || c.all.every((sub) => collect(matchCondition(sub, facts, config), why))) &&
    (c.any === undefined || check(c.any.some((sub) => collect(matchCondition(sub, facts, config), why)), 'one of `any` holds')) &&
    (c.not === undefined || check(!matchCondition(c.not, facts, config).matched, 'the `not` condition does not hold'));
  return { matched: ok, why: ok ? why : [] };
}

function collect(m: Match, why: string[]): boolean {
  if (m.matched) why.push(...m.why);
  return m.matched;
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

function realAttachments(mail: InboundMail) {
  // Inline images of a signature are not what "has an attachment" means to an admin.
  return mail.attachments.filter((a) => !a.inline || !a.contentId);
}

/** `ana@x.com`, `@x.com`/`x.com` (domain and its subdomains), or a `*`/`?` glob. */
export function addressMatches(pattern: string, address: string): boolean {
  const p = pattern.toLowerCase();
  const a = address.toLowerCase();
  if (/[*?]/.test(p)) return globToRegex(p).test(a);
  if (p.includes('@') && !p.startsWith('@')) return a === p;
  const domain = p.replace(/^@/, '');
  const d = a.split('@')[1] ?? '';
  return d === domain || d.endsWith(`.${domain}`);
}

function typeMatches(pattern: string, contentType: string, filename: string): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('.')) return filename.toLowerCase().endsWith(p);
  return globToRegex(p).test(contentType);
}

// Globs and admin patterns run on RE2 (linear-regex.ts): `*a*a*a*b` would backtrack.
const globCache = new Map<string, LinearRegex>();
function globToRegex(glob: string): LinearRegex {
  let re = globCache.get(glob);
  if (!re) {
    re = linearRegex(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    globCache.set(glob, re);
  }
  return re;
}

const regexCache = new Map<string, LinearRegex>();
function compiled(pattern: string): LinearRegex {
  let re = regexCache.get(pattern);
  if (!re) {
    re = linearRegex(pattern);
    regexCache.set(pattern, re);
  }
  return re;
}

/** Case- and accent-insensitive word match: "caido" finds "caído". */
const foldText = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

// Every rule tests the same subject and body of one message: fold each of them once.
const recentlyFolded: [string, string][] = [];
function fold(s: string): string {
  for (const [text, folded] of recentlyFolded) if (text === s) return folded;
  const folded = foldText(s);
  recentlyFolded.unshift([s, folded]);
  recentlyFolded.length = Math.min(recentlyFolded.length, 4);
  return folded;
}

// Words and phrases come from the rules: a bounded set, compiled or folded once.
const wordCache = new Map<string, RegExp>();
const phraseCache = new Map<string, string>();
function foldPhrase(phrase: string): string {
  let folded = phraseCache.get(phrase);
  if (folded === undefined) {
    if (phraseCache.size > 10_000) phraseCache.clear();
    folded = foldText(phrase);
    phraseCache.set(phrase, folded);
  }
  return folded;
}

function containsWord(haystack: string, word: string): boolean {
  let re = wordCache.get(word);
  if (!re) {
    if (wordCache.size > 10_000) wordCache.clear();
    re = new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegex(foldText(word))}($|[^\\p{L}\\p{N}])`, 'u');
    wordCache.set(word, re);
  }
  return re.test(haystack);
}

export function textMatches(m: Text, value: string): boolean {
  const folded = fold(value);
  if (typeof m === 'string') return folded.includes(foldPhrase(m));
  if (m.any && !m.any.some((w) => containsWord(folded, w))) return false;
  if (m.all && !m.all.every((w) => containsWord(folded, w))) return false;
  if (m.regex && !compiled(m.regex).test(value)) return false;
  return true;
}

/** The first listed word that occurs in the text, or null. */
export function firstWord(words: string[], value: string): string | null {
  const folded = fold(value);
  return words.find((w) => containsWord(folded, w)) ?? null;
}

function describeText(m: Text): string {
  if (typeof m === 'string') return `contains "${m}"`;
  return [m.any && `has any of ${m.any.join(', ')}`, m.all && `has all of ${m.all.join(', ')}`, m.regex && `matches /${m.regex}/`].filter(Boolean).join(' and ');
}

function timeMatches(t: NonNullable<RuleCondition['time']>, at: number, config: Config): boolean {
  const tz = config.helpdesk.timezone;
  if (t.weekdays && !t.weekdays.includes(localTime(at, tz).weekday)) return false;
  if (t.businessHours !== undefined) {
    const hours = config.helpdesk.businessHours;
    // Without configured business hours every hour is a business hour.
    const inside = hours ? inBusinessHours(at, tz, hours) : true;
    if (inside !== t.businessHours) return false;
  }
  return true;
}

function describeTime(t: NonNullable<RuleCondition['time']>): string {
  return [t.weekdays && `on ${t.weekdays.join('/')}`, t.businessHours !== undefined && (t.businessHours ? 'in business hours' : 'outside business hours')].filter(Boolean).join(', ');
}
