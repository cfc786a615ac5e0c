/**
 * RFC 8601 Authentication-Results, parsed strictly enough to base a trust decision on.
 *
 * Hand-written on purpose: the one maintained parser we found (mailauth's
 * parse-dkim-headers.js) says in its own source that it "fails to properly parse nested
 * comments", and a comment or quoted string that hides `; dkim=pass` is exactly the attack
 * this must withstand (issue #17). The grammar is small (RFC 8601 §2.2); a lexer that knows
 * quoted strings (with quoted-pairs) and nested comments, and a parser that refuses anything
 * it does not understand, is the whole of it. Anything malformed is `null`: never trusted.
 */

export interface AuthResult {
  /** Lower case, without a method version (`dkim`, `dmarc`, `spf`). */
  method: string;
  /** Lower case (`pass`, `fail`, `none`...). */
  result: string;
  reason: string | null;
  /** `ptype.property` (lower case) → value as written (quotes removed, case kept). */
  props: Record<string, string>;
}

export interface AuthResults {
  /** Lower case. */
  authservId: string;
  results: AuthResult[];
}

type Token = { kind: 'word' | 'quoted'; text: string; spaceBefore: boolean } | { kind: 'special'; text: ';' | '=' | '/'; spaceBefore: boolean };

class Malformed extends Error {}

/** Characters that end a word: whitespace, comment and quote starts, and the separators. */
const WORD_END = /[\s()";=/\\]/;

/**
 * Splits a header value into words, quoted strings and separators; comments count as space.
 * Lazy, so that the authserv-id can be read from a header whose rest is malformed.
 */
function* lex(value: string): Generator<Token> {
  let space = false;
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (/\s/.test(c)) {
      space = true;
      i++;
    } else if (c === '(') {
      // A comment, which may nest and may hold quoted-pairs (RFC 5322 §3.2.2).
      let depth = 0;
      do {
        const d = value[i];
        if (d === undefined) throw new Malformed('unterminated comment');
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')') depth--;
        i++;
      } while (depth > 0);
      space = true;
    } else if (c === ')') {
      throw new Malformed('unbalanced ")"');
    } else if (c === '"') {
      let text = '';
      i++;
      for (;;) {
        const d = value[i];
        if (d === undefined) throw new Malformed('unterminated quoted string');
        if (d === '"') break;
        if (d === '\\') {
          i++;
          if (value[i] === undefined) throw new Malformed('unterminated quoted string');
          text += value[i];
        } else text += d;
        i++;
      }
      i++;
      yield { kind: 'quoted', text, spaceBefore: space };
      space = false;
    } else if (c === ';' || c === '=' || c === '/') {
      yield { kind: 'special', text: c, spaceBefore: space };
      space = false;
      i++;
    } else if (c === '\\') {
      throw new Malformed('a backslash outside a quoted string');
    } else {
      let j = i;
      while (j < value.length && !WORD_END.test(value[j])) j++;
      yield { kind: 'word', text: value.slice(i, j), spaceBefore: space };
      space = false;
      i = j;
    }
  }
}

const KEYWORD = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
const PROPSPEC = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)$/i;

/**
 * The authserv-id and the results of one Authentication-Results value, or null when the value
 * is not well-formed (then nothing in it may be believed). `authservIdOf` reads only the id.
 */
export function parseAuthResults(value: string): AuthResults | null {
  try {
    return parseTokens([...lex(value)]);
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}

/** The authserv-id a header claims to come from, even when the rest is malformed. */
export function authservIdOf(value: string): string | null {
  try {
    const first = lex(value).next();
    return first.done || first.value.kind === 'special' ? null : first.value.text.toLowerCase();
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}

function parseTokens(tokens: Token[]): AuthResults {
  let pos = 0;
  const peek = (offset = 0): Token | undefined => tokens[pos + offset];
  const next = (): Token => {
    const t = tokens[pos++];
    if (!t) throw new Malformed('unexpected end');
    return t;
  };
  const special = (text: string) => {
    const t = next();
    if (t.kind !== 'special' || t.text !== text) throw new Malformed(`expected "${text}"`);
  };
  const keyword = (): string => {
    const t = next();
    if (t.kind !== 'word' || !KEYWORD.test(t.text)) throw new Malformed('expected a keyword');
    return t.text.toLowerCase();
  };
  /** A value: a token or quoted string, or an address (`"a b"@x`, `@x`), written without spaces. */
  const value = (): string => {
    const first = next();
    if (first.kind === 'special') throw new Malformed('expected a value');
    let text = first.text;
    while (peek() && peek()?.kind !== 'special' && !peek()?.spaceBefore) text += next().text;
    return text;
  };

  const idToken = next();
  if (idToken.kind === 'special') throw new Malformed('no authserv-id');
  const authservId = idToken.text.toLowerCase();
  if (!/^[^\s@]+$/.test(authservId)) throw new Malformed('authserv-id is not a host name');
  // An optional version number follows the authserv-id.
  if (peek()?.kind === 'word' && /^\d+$/.test(peek()?.text ?? '')) pos++;

  const results: AuthResult[] = [];
  if (pos === tokens.length) throw new Malformed('no results');
  while (pos < tokens.length) {
    special(';');
    // A trailing ";" ends the list (seen from real MTAs; harmless).
    if (pos === tokens.length) break;
    const method = keyword();
    if (peek()?.kind === 'special' && peek()?.text === '/') {
      pos++;
      if (next().kind !== 'word') throw new Malformed('expected a method version');
    }
    // `none` says there are no results: it stands alone (RFC 8601 no-result).
    if (method === 'none' && results.length === 0 && pos === tokens.length) break;
    special('=');
    const result = keyword();
    let reason: string | null = null;
    const props: Record<string, string> = {};
    while (pos < tokens.length && !(peek()?.kind === 'special' && peek()?.text === ';')) {
      const key = next();
      if (key.kind !== 'word') throw new Malformed('expected a property');
      special('=');
      const v = value();
      if (key.text.toLowerCase() === 'reason' && reason === null && Object.keys(props).length === 0) {
        reason = v;
        continue;
      }
      const m = PROPSPEC.exec(key.text);
      if (!m) throw new Malformed(`"${key.text}" is not ptype.property`);
      const name = `${m[1]}.${m[2]}`.toLowerCase();
      if (name in props) throw new Malformed(`${name} given twice`);
      props[name] = v;
    }
    results.push({ method, result, reason, props });
  }
  return { authservId, results };
}
