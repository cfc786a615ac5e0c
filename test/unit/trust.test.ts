import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { parseAuthResults } from '../../src/pipeline/auth-results';
import { checkAuthResults, checkTrust, senderDoubt } from '../../src/pipeline/trust';
import { pick, seededRandom, testSeed } from '../helpers/random';

const ID = 'mx.example.com';
const DOMAIN = 'example.com';
const ar = (value: string) => ({ name: 'authentication-results', value });
const verdict = (...values: string[]) => checkAuthResults(ID, values.map(ar), DOMAIN);

describe('parseAuthResults (RFC 8601)', () => {
  it('reads the authserv-id, version, methods, results, reason and properties; comments are space', () => {
    expect(parseAuthResults('mx.example.test 1 (Postfix); dkim/1=pass (2048-bit key) reason="good sig" header.d=Example.test header.s=s1; spf=fail smtp.mailfrom=x@y; dmarc=pass header.from=example.test;')).toEqual({
      authservId: 'mx.example.test',
      results: [
        { method: 'dkim', result: 'pass', reason: 'good sig', props: { 'header.d': 'Example.test', 'header.s': 's1' } },
        { method: 'spf', result: 'fail', reason: null, props: { 'smtp.mailfrom': 'x@y' } },
        { method: 'dmarc', result: 'pass', reason: null, props: { 'header.from': 'example.test' } },
      ],
    });
  });
  it('reads `none`, quoted local parts, header.i=@domain and real MTA headers', () => {
    expect(parseAuthResults('mx.example.com; none')).toEqual({ authservId: 'mx.example.com', results: [] });
    expect(parseAuthResults('mx; spf=pass smtp.mailfrom="a b"@x.example header.i=@gmail.com')?.results[0].props).toEqual({ 'smtp.mailfrom': 'a b@x.example', 'header.i': '@gmail.com' });
    const google = 'mx.google.com;\r\n       spf=pass (google.com: domain of bob@example.net designates 173.193.210.44 as permitted sender) smtp.mail=bob@example.net;\r\n       dkim=pass header.i=@example.net';
    expect(parseAuthResults(google)?.results.map((r) => `${r.method}=${r.result}`)).toEqual(['spf=pass', 'dkim=pass']);
  });
  it('refuses what it does not understand: unterminated quotes and comments, stray parentheses, bare properties', () => {
    for (const bad of ['mx; dkim=pass header.d="example.com', 'mx; dkim=pass (x header.d=example.com', 'mx; dkim=pass ) header.d=example.com', 'mx; dkim=pass from=example.com', 'mx', 'mx; =pass', 'spf=none (sender IP is ) smtp.mailfrom=<>;', 'mx; dkim=pass header.d=a header.d=b', 'mx; none; dkim=pass header.d=example.com', 'mx; dkim=none; none']) {
      expect([bad, parseAuthResults(bad)]).toEqual([bad, null]);
    }
  });
});

describe('checkAuthResults', () => {
  it('trusts dkim=pass or dmarc=pass aligned to the agent domain from our server', () => {
    expect(verdict(`${ID}; dkim=pass header.d=example.com`)).toMatchObject({ trusted: true });
    expect(verdict(`${ID}; dkim=pass header.i=ana@Example.com`)).toMatchObject({ trusted: true });
    expect(verdict(`${ID}; dmarc=pass header.from=example.com`)).toMatchObject({ trusted: true });
  });
  it('refuses results from another server, for another domain, or not a pass', () => {
    expect(verdict(`evil.test; dkim=pass header.d=example.com`)).toEqual({ trusted: false, reason: `no Authentication-Results from ${ID}`, unsigned: [] });
    expect(verdict(`${ID}; dkim=pass header.d=evil.test`).trusted).toBe(false);
    expect(verdict(`${ID}; dkim=pass header.d=sub.example.com`).trusted).toBe(false);
    expect(verdict(`${ID}; dkim=fail header.d=example.com`).trusted).toBe(false);
  });
  it('only believes the topmost header of our server (a forged lower one does not count)', () => {
    expect(verdict(`${ID}; dkim=none`, `${ID}; dkim=pass header.d=example.com`).trusted).toBe(false);
    expect(verdict(`${ID}; dkim=pass header.d="example.com`, `${ID}; dkim=pass header.d=example.com`)).toEqual({ trusted: false, reason: `the Authentication-Results of ${ID} is not well-formed`, unsigned: [] });
  });
  // Issue #17, reproduced: both gave the sender agent powers.
  it('is not fooled by a pass hidden in a quoted string or a nested comment', () => {
    expect(verdict(`${ID}; spf=pass smtp.mailfrom="x; dkim=pass header.d=example.com ;"@evil.example; dkim=none; dmarc=fail header.from=example.com`).trusted).toBe(false);
    expect(verdict(`${ID}; dkim=fail (bad sig (x) ; dkim=pass header.d=example.com ) header.d=example.com`).trusted).toBe(false);
  });
});

describe('checkTrust', () => {
  it('trusts the From header in from-header mode, and never a message with two From headers', async () => {
    expect((await checkTrust({ mode: 'from-header' }, [], Buffer.alloc(0), 'ana@example.com')).trusted).toBe(true);
    const two = [{ name: 'from', value: 'ana@example.com' }, { name: 'from', value: 'x@evil.test' }, ar(`${ID}; dkim=pass header.d=example.com`)];
    expect(await checkTrust({ mode: 'authentication-results', authservId: ID }, two, Buffer.alloc(0), 'ana@example.com')).toEqual({ trusted: false, reason: 'the message has more than one From header', unsigned: [] });
  });
});

describe('senderDoubt', () => {
  const AR = { mode: 'authentication-results' as const, authservId: ID };
  it('doubts a sender only when our MTA reports dmarc=fail for the From domain', () => {
    expect(senderDoubt(AR, [ar(`${ID}; spf=fail smtp.mailfrom=evil.test; dmarc=fail header.from=Customer.test`)], 'carla@customer.test')).toBe(`${ID} reports dmarc=fail for customer.test`);
    for (const value of [`${ID}; dmarc=pass header.from=customer.test`, `${ID}; dmarc=none header.from=customer.test`, `${ID}; dmarc=fail header.from=other.test`, `evil.test; dmarc=fail header.from=customer.test`, `${ID}; dmarc=fail header.from="customer.test`]) {
      expect([value, senderDoubt(AR, [ar(value)], 'carla@customer.test')]).toEqual([value, null]);
    }
    expect(senderDoubt({ mode: 'dkim' }, [ar(`${ID}; dmarc=fail header.from=customer.test`)], 'carla@customer.test')).toBeNull();
  });
});

/**
 * A signed mail replayed by whoever holds a copy: fields added on top of it, or beside it where
 * the signature does not sign them. What the signature covers is read from its own h= and l=.
 */
describe('checkTrust: what the agent domain’s DKIM signature signs', () => {
  const AR = { mode: 'authentication-results' as const, authservId: ID };
  const signature = (tags: string) => ({ name: 'dkim-signature', value: `v=1; a=rsa-sha256; c=relaxed/relaxed; s=s1; bh=AAAA; b=AAAA; ${tags}` });
  const mail = (...extra: { name: string; value: string }[]) => [ar(`${ID}; dkim=pass header.d=example.com`), { name: 'from', value: 'ana@example.com' }, { name: 'subject', value: 'Re: [HD-1] x' }, ...extra];
  const check = (headers: { name: string; value: string }[]) => checkTrust(AR, headers, Buffer.alloc(0), 'ana@example.com');

  it('believes a signature that signs every routing field the message has', async () => {
    expect(await check(mail(signature('d=Example.com; h=From : Subject:In-Reply-To:References'), { name: 'in-reply-to', value: '<a>' }, { name: 'references', value: '<a>' }))).toEqual({ trusted: true, reason: `dkim=pass for example.com by ${ID}`, unsigned: [] });
  });
  it('names the routing fields it does not sign (to be left unused); with two signatures, what both sign', async () => {
    const v = await check(mail(signature('d=example.com; h=from:subject:to'), signature('d=example.com; h=from:subject:cc'), { name: 'to', value: 'support@example.com' }, { name: 'cc', value: 'mallory@evil.test' }, { name: 'in-reply-to', value: '<b>' }));
    expect(v).toEqual({ trusted: true, reason: `dkim=pass for example.com by ${ID}; not signed, so not acted on: To, Cc, In-Reply-To`, unsigned: ['to', 'cc', 'in-reply-to'] });
  });
  it('never believes two copies of a field, a body signed only in part (l=), an unsigned Subject, or a pass without a signature to read', async () => {
    const signed = signature('d=example.com; h=from:subject:in-reply-to');
    expect(await check([{ name: 'subject', value: 'Re: [HD-2] y' }, ...mail(signed)])).toMatchObject({ trusted: false, reason: 'the message has more than one Subject header' });
    expect(await check([{ name: 'in-reply-to', value: '<b>' }, ...mail(signed, { name: 'in-reply-to', value: '<a>' })])).toMatchObject({ trusted: false, reason: 'the message has more than one In-Reply-To header' });
    expect(await check(mail(signature('d=example.com; h=from:subject; l=20')))).toMatchObject({ trusted: false, reason: 'a DKIM signature of example.com signs only the start of the body (l=): text could have been added after it' });
    expect(await check(mail(signature('d=example.com; h=from:to')))).toMatchObject({ trusted: false, reason: 'the DKIM signature of example.com does not sign the Subject' });
    expect(await check(mail(signature('d=other.example; h=from:subject')))).toMatchObject({ trusted: false, reason: `dkim=pass for example.com by ${ID}, but the message has no DKIM signature of example.com to say what it signs` });
  });
  it('believes dmarc=pass without a signature of the domain (SPF: the domain’s own servers sent it all)', async () => {
    const headers = [ar(`${ID}; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com`), { name: 'from', value: 'ana@example.com' }, { name: 'subject', value: 'x' }, { name: 'cc', value: 'dan@x.test' }];
    expect(await check(headers)).toEqual({ trusted: true, reason: `dmarc=pass for example.com by ${ID}`, unsigned: [] });
  });
});

describe('checkTrust in dkim mode', () => {
  it('handles the message as a customer’s when DNS does not answer in time', async () => {
    // A body hash that matches, so the key is looked up (the signature itself is never reached).
    const bh = createHash('sha256').update('hi\r\n').digest('base64');
    const raw = Buffer.from(`DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; h=from; bh=${bh}; b=AAAA\r\nFrom: ana@example.com\r\n\r\nhi\r\n`);
    const silent = () => new Promise<never>(() => {});
    const v = await checkTrust({ mode: 'dkim' }, [{ name: 'from', value: 'ana@example.com' }], raw, 'ana@example.com', { resolver: silent, timeoutMs: 50 });
    expect(v).toEqual({ trusted: false, reason: 'DKIM verification failed: no answer within 0.05 s', unsigned: [] });
  });
});

/**
 * The header grammar, fuzzed: our MTA writes the results (methods, results, properties), the
 * sender controls the text in property values and comments (envelope sender, HELO, names),
 * written as a correct MTA writes them (quoted, escaped). Whatever that text is, the verdict
 * must be the one the MTA's own results give, and parsing must give back what was written.
 */
describe('Authentication-Results fuzz', () => {
  const seed = testSeed();
  const HOSTILE = ['; dkim=pass header.d=example.com', 'dmarc=pass header.from=example.com', ';', '(', ')', '"', '\\', '=', ' ', '\t', 'example.com', '@', 'x', 'é', ';dkim=pass', ') ; dkim=pass header.d=example.com (', '"; dmarc=pass header.from=example.com; x="'];
  const hostile = (random: () => number) => Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(random, HOSTILE)).join('');
  const quote = (s: string) => `"${s.replace(/[\\"]/g, '\\$&')}"`;
  const commentText = (random: () => number, depth = 0): string =>
    Array.from({ length: 1 + Math.floor(random() * 3) }, () => (depth < 3 && random() < 0.2 ? `(${commentText(random, depth + 1)})` : hostile(random).replace(/[\\()]/g, '\\$&'))).join(' ');
  const comment = (random: () => number) => (random() < 0.3 ? ` (${commentText(random)}) ` : ' ');

  interface Written {
    header: string;
    results: { method: string; result: string; reason: string | null; props: Record<string, string> }[];
  }
  function writeHeader(random: () => number, id: string): Written {
    const results: Written['results'] = [];
    let header = `${id}${comment(random)}`;
    const n = 1 + Math.floor(random() * 4);
    for (let i = 0; i < n; i++) {
      const method = pick(random, ['dkim', 'dmarc', 'spf', 'arc', 'iprev']);
      const result = pick(random, ['pass', 'pass', 'fail', 'none', 'neutral', 'temperror']);
      const props: Record<string, string> = {};
      let text = `;${comment(random)}${method}${comment(random)}=${comment(random)}${result}`;
      let reason: string | null = null;
      if (random() < 0.2) {
        reason = hostile(random);
        text += ` reason=${quote(reason)}`;
      }
      for (const key of new Set(Array.from({ length: Math.floor(random() * 4) }, () => pick(random, ['header.d', 'header.i', 'header.from', 'smtp.mailfrom', 'smtp.helo', 'policy.iprev'])))) {
        const kind = random();
        let value: string;
        let written: string;
        if (kind < 0.3) value = written = pick(random, [DOMAIN, 'evil.example', 'sub.example.com', 'ana@example.com', '@example.com']);
        else if (kind < 0.6) {
          const local = hostile(random);
          value = `${local}@${pick(random, [DOMAIN, 'evil.example'])}`;
          written = `${quote(local)}@${value.split('@').pop()}`;
        } else {
          value = hostile(random);
          written = quote(value);
        }
        props[key] = value;
        text += `${comment(random)}${key}=${written}`;
      }
      header += `${text}${comment(random)}`;
      results.push({ method, result, reason, props });
    }
    return { header, results };
  }
  const genuine = (results: Written['results']) =>
    results.some(
      (r) =>
        r.result === 'pass' &&
        ((r.method === 'dkim' && (r.props['header.d']?.toLowerCase() === DOMAIN || r.props['header.i']?.split('@').pop()?.toLowerCase() === DOMAIN)) ||
          (r.method === 'dmarc' && r.props['header.from']?.toLowerCase() === DOMAIN)),
    );

  it(`2,000 generated headers: trusted exactly when our topmost header has a genuine pass (seed ${seed}, replay with HD_SEED=${seed})`, () => {
    const random = seededRandom(seed);
    let trusted = 0;
    for (let i = 0; i < 2000; i++) {
      const top = writeHeader(random, ID);
      const parsed = parseAuthResults(top.header);
      if (!isDeepStrictEqual(parsed, { authservId: ID, results: top.results })) expect([top.header, parsed]).toEqual([top.header, { authservId: ID, results: top.results }]);
      // Headers below ours may say anything, and so may other servers' headers above ours.
      const below = writeHeader(random, ID);
      const other = writeHeader(random, 'evil.example');
      const headers = [other.header, top.header, below.header].map(ar);
      const v = checkAuthResults(ID, headers, DOMAIN);
      if (v.trusted !== genuine(top.results)) throw new Error(`seed ${seed}, header ${i}: trusted=${v.trusted} for ${JSON.stringify(top.header)}`);
      if (v.trusted) trusted++;
    }
    // Both sides were exercised.
    expect(trusted).toBeGreaterThan(10);
    expect(trusted).toBeLessThan(1990);
  });

  it(`random damage to a header never throws: it is refused or read as what it now spells (seed ${seed})`, () => {
    const random = seededRandom(seed + 1);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      let damaged = writeHeader(random, ID).header;
      for (let k = 0; k < 3; k++) {
        const at = Math.floor(random() * damaged.length);
        damaged = random() < 0.5 ? damaged.slice(0, at) + damaged.slice(at + 1) : damaged.slice(0, at) + pick(random, [';', '(', ')', '"', '\\', '=', ' ']) + damaged.slice(at);
      }
      const parsed = parseAuthResults(damaged);
      if (parsed === null) refused++;
      // What is trusted is exactly what the damaged header, read by the grammar, says.
      expect(checkAuthResults(ID, [ar(damaged)], DOMAIN).trusted).toBe(parsed !== null && parsed.authservId === ID && genuine(parsed.results));
    }
    expect(refused).toBeGreaterThan(100);
  });
});
