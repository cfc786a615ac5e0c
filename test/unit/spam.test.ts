import { classifyTokens, formatScore } from '../../src/spam/classify';
import { chi2Tails, combine, DEFAULT_SETTINGS, tokenProbability, verdictOf } from '../../src/spam/model';
import { tokenize } from '../../src/spam/tokenize';
import type { InboundMail } from '../../src/pipeline/types';
import { filedAsJunk } from '../../src/pipeline/stages/spam';
import { learnJunkFound, learnJunkMessage, type JunkStore } from '../../src/spam/junk-folder';

const mail = (over: Partial<InboundMail>): InboundMail => ({
  messageId: '<m@x>', messageIdSynthetic: false, inReplyTo: null, references: [], from: { address: 'a@shop.test', name: 'Shop' }, to: [], cc: [], replyTo: [],
  subject: '', text: '', html: null, date: new Date(0), headers: [], attachments: [], ...over,
});

describe('tokenize', () => {
  it('yields lower-case words once, subject words apart, words with capitals also as written, link hosts, sender domains, attachment types', () => {
    const t = tokenize(
      mail({
        subject: 'FREE Money now',
        text: 'Click http://www.cheap-pills.example.com/buy now, NOW! Free free.',
        replyTo: [{ address: 'x@other.test', name: '' }],
        attachments: [{ filename: 'a.zip', contentType: 'application/zip', size: 1, sha256: '', contentId: null, inline: false, content: Buffer.alloc(0) }],
      }),
    );
    expect(t).toEqual(
      new Set(['subject:free', 'subject:money', 'subject:now', 'click', 'http', 'skip:w20', 'buy', 'now', 'now!', 'free', 'url:www.cheap-pills.example.com', 'url:example.com', 'from:shop.test', 'reply-to:other.test', 'from:has-name', 'att:application/zip',
        // words with capitals as written, subject and body alike
        'C:FREE', 'C:Money', 'C:Click', 'C:NOW!', 'C:Free',
        // adjacent word pairs, subject then body
        'bi:free money', 'bi:money now', 'bi:now click', 'bi:click http', 'bi:http buy', 'bi:buy now', 'bi:now now!', 'bi:now! free', 'bi:free free']),
    );
  });
  it('marks an all-caps subject, html-only mail and a missing Date', () => {
    const t = tokenize(mail({ subject: 'YOU HAVE WON', html: '<p>x</p>', date: null }));
    expect([...t].filter((x) => x.startsWith('shape:')).sort()).toEqual(['shape:html-only', 'shape:no-date', 'shape:subject-caps']);
  });
  it('never calls a subject in a script without case shouting (a Japanese subject was a false positive)', () => {
    expect(tokenize(mail({ subject: '日本語の件名のサブジェクトはあります' })).has('shape:subject-caps')).toBe(false);
    expect(tokenize(mail({ subject: 'ЗАКАЖИТЕ СЕЙЧАС' })).has('shape:subject-caps')).toBe(true);
  });
  it("names each Received header's relay by registrable domain and network", () => {
    const t = tokenize(
      mail({
        headers: [
          { name: 'received', value: 'from mail.relay.example.org (mail.relay.example.org [193.120.211.219]) by mx.test (Postfix) with ESMTP id 1' },
          { name: 'received', value: 'by localhost with IMAP (fetchmail-5.9.0)' },
        ],
      }),
    );
    expect([...t].filter((x) => x.startsWith('received')).sort()).toEqual(['received-ip:193.120', 'received:example.org']);
  });
});

describe('Bayes model', () => {
  const totals = { spam: 10, ham: 10 };
  it("computes Robinson's probability on a toy vocabulary", () => {
    // seen in 8 of 10 spam and 2 of 10 ham: p = 0.8; n = 10; f = (0.45·0.5 + 10·0.8) / 10.45
    const s = { ...DEFAULT_SETTINGS, strength: 0.45, unknown: 0.5 };
    expect(tokenProbability({ spam: 8, ham: 2 }, totals, s)).toBeCloseTo((0.225 + 8) / 10.45, 12);
    expect(tokenProbability({ spam: 0, ham: 0 }, totals, s)).toBe(0.5);
    expect(tokenProbability({ spam: 1, ham: 0 }, totals, s)).toBeCloseTo((0.225 + 1) / 1.45, 12);
  });
  it('has a correct chi-square upper tail', () => {
    const chi2Q = (x2: number, v: number) => Math.exp(chi2Tails(x2, v).logQ);
    expect(chi2Q(0, 4)).toBe(1);
    expect(chi2Q(2, 2)).toBeCloseTo(Math.exp(-1), 12);
    expect(chi2Q(9.488, 4)).toBeCloseTo(0.05, 3);
  });
  it('gives both chi-square tails in logs without rounding either to 0 or 1', () => {
    for (const [x2, v] of [[2, 2], [9.488, 4], [50, 20], [3, 40]]) {
      const { logQ, logP } = chi2Tails(x2, v);
      expect(Math.exp(logQ) + Math.exp(logP)).toBeCloseTo(1, 12);
    }
    // P(chi² with 300 degrees of freedom ≤ 10) and P(≥ 3000), far below what a double holds
    // (references: the Poisson sums in Python with math.lgamma).
    expect(chi2Tails(10, 300).logP).toBeCloseTo(-368.5707534781301, 9);
    expect(chi2Tails(3000, 300).logQ).toBeCloseTo(-1010.2350943274378, 9);
  });
  it('gives tails that are finite, sum to 1 and move the right way, for any evidence a message can bring (seeded)', () => {
    let seed = 20261204;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const wrong: string[] = [];
    for (let i = 0; i < 500; i++) {
      const v = 2 * (1 + Math.floor(random() * 30));
      const x2 = random() * 40 * v;
      const { logQ, logP } = chi2Tails(x2, v);
      const sum = Math.exp(logQ) + Math.exp(logP);
      // More evidence: a smaller upper tail.
      const further = chi2Tails(x2 * 1.01 + 0.01, v).logQ;
      if (Number.isNaN(logQ) || Number.isNaN(logP) || logQ > 0 || logP > 0 || Math.abs(sum - 1) > 1e-9 || further > logQ) wrong.push(`x2 ${x2} v ${v}: logQ ${logQ} logP ${logP}`);
    }
    expect(wrong).toEqual([]);
  });
  it('keeps the order of messages that are all very hammy (a score of exactly 0 tells nothing)', () => {
    const hammy = (p: number, n: number) => combine(new Map(Array.from({ length: n }, (_, i) => [`w${i}`, p]))).score;
    const ham = hammy(0.01, 150);
    const lessHam = hammy(0.05, 150);
    expect(ham).toBeGreaterThan(0);
    expect(lessHam).toBeGreaterThan(ham);
    expect(lessHam).toBeLessThan(1e-6);
    // The same near 1.
    expect(hammy(0.99, 3)).toBeGreaterThan(hammy(0.95, 3));
  });
  it('counts the evidence of many tokens as that of independentTokens: their average, not their number', () => {
    const clues = (spec: Array<[number, number]>) => new Map(spec.flatMap(([p, n], j) => Array.from({ length: n }, (_, i) => [`t${j}.${i}`, p] as [string, number])));
    // A long mail of 300 mildly hammy words (0.3) and 20 strong spam clues (0.99): counted as
    // independent, the 300 words made it ham (0.006); averaged, it is far less sure (0.12).
    const prose = clues([[0.3, 300], [0.99, 20]]);
    expect(combine(prose).score).toBeGreaterThan(0.1);
    expect(combine(prose, { ...DEFAULT_SETTINGS, independentTokens: Infinity }).score).toBeLessThan(0.01);
    // The same evidence, ten times over, scores the same beyond independentTokens.
    expect(combine(clues([[0.2, 40], [0.9, 10]])).score).toBeCloseTo(combine(clues([[0.2, 400], [0.9, 100]])).score, 12);
    // Within it, nothing changes: Fisher's method as before.
    expect(combine(clues([[0.2, 10], [0.9, 5]])).score).toBe(combine(clues([[0.2, 10], [0.9, 5]]), { ...DEFAULT_SETTINGS, independentTokens: Infinity }).score);
  });
  it('combines strong spam clues to ~1, ham clues to ~0, mixed or no clues to 0.5', () => {
    expect(combine(new Map([['a', 0.99], ['b', 0.98], ['c', 0.97]])).score).toBeGreaterThan(0.95);
    expect(combine(new Map([['a', 0.01], ['b', 0.02], ['c', 0.03]])).score).toBeLessThan(0.05);
    expect(combine(new Map([['a', 0.99], ['b', 0.01]])).score).toBeCloseTo(0.5, 6);
    expect(combine(new Map([['a', 0.55]])).score).toBe(0.5);
  });
  it('shows a score with four decimals, or in exponent form below 0.0001', () => {
    expect([0.5, 0.99996, 0.0001, 0, 3.04e-14].map(formatScore)).toEqual(['0.5000', '1.0000', '0.0001', '0.0000', '3.0e-14']);
  });
  it('thresholds give the three verdicts', () => {
    expect([0.1, 0.2, 0.5, 0.9, 0.95].map((s) => verdictOf(s, 0.2, 0.9))).toEqual(['ham', 'ham', 'unsure', 'spam', 'spam']);
  });
  it('says untrained (and ham) until enough of each kind is learnt', () => {
    const counts = new Map([['viagra', { spam: 9, ham: 0 }]]);
    expect(classifyTokens(['viagra'], counts, { spam: 9, ham: 300 }, { hamCutoff: 0.2, spamCutoff: 0.9, minTrained: 200 })).toMatchObject({ verdict: 'ham', reason: expect.stringMatching(/^untrained/) });
    expect(classifyTokens(['viagra'], counts, { spam: 300, ham: 300 }, { hamCutoff: 0.2, spamCutoff: 0.9, minTrained: 200 }).verdict).not.toBe('ham');
  });
});

describe('mail the mail server filed as junk', () => {
  const config = { hamCutoff: 0.12, spamCutoff: 0.99, minTrained: 10 };
  const trained = { spam: 10, ham: 10 };
  const decide = (counts: Record<string, { spam: number; ham: number }>, totals = trained) =>
    filedAsJunk(classifyTokens(Object.keys(counts), new Map(Object.entries(counts)), totals, config), 'Junk');
  const hammy = { invoice: { spam: 0, ham: 10 }, order: { spam: 0, ham: 9 }, printer: { spam: 0, ham: 8 } };
  const spammy = { viagra: { spam: 10, ham: 0 }, winner: { spam: 9, ham: 0 }, casino: { spam: 8, ham: 0 } };
  it('is unsure where our trained filter says ham (the two disagree: an agent is told), and spam otherwise', () => {
    expect(decide(hammy)).toMatchObject({ verdict: 'unsure', reason: expect.stringMatching(/^the mail server filed it in Junk, but our filter says ham: score /) });
    expect(decide(spammy)).toMatchObject({ verdict: 'spam', reason: expect.stringMatching(/^the mail server filed it in Junk; our filter says spam: score /) });
    expect(decide({ ...hammy, ...spammy })).toMatchObject({ verdict: 'spam', reason: expect.stringMatching(/our filter says unsure: /) });
  });
  it('believes the mail server while our filter is untrained', () => {
    expect(decide(hammy, { spam: 1, ham: 1 })).toMatchObject({ verdict: 'spam', reason: expect.stringMatching(/^the mail server filed it in Junk; our filter says nothing yet: untrained/) });
  });
});

describe('junk-folder learning', () => {
  /** A junk store that knows one ticket for every message; `learn` records what it is asked. */
  const storeWith = (position: string) => {
    const learnt: string[] = [];
    const store: JunkStore = {
      ticketOfRaw: async () => ({ id: 1, status: 'new', spamVerdict: 'unsure', outcome: 'created', source: 'maildir:local', position }),
      readByDesk: async () => true,
      seenBeforeAt: async () => false,
      learn: async (key, label) => (learnt.push(`${label} ${key}`), 'learnt'),
      applyChange: async () => undefined,
      addEvent: async () => undefined,
      learntAs: async () => null,
    };
    return { store, learnt };
  };
  const bytes = Buffer.from('From: a@b.test\r\nSubject: x\r\n\r\nhello\r\n');
  it('learns nothing from a message the desk itself took from the junk folder (seen again after a crash), and learns one staff moved there', async () => {
    const taken = storeWith('junk:7');
    expect(await learnJunkMessage(taken.store, bytes, 0)).toBe('taken from the junk folder');
    expect(taken.learnt).toEqual([]);
    const moved = storeWith('7');
    expect(await learnJunkMessage(moved.store, bytes, 0)).toBe('learnt');
    expect(moved.learnt).toHaveLength(1);
  });
  it('learns nothing from a copy filed there while the desk still holds the message it read (Sieve fileinto :copy), and learns a move', async () => {
    const inStore = (s: JunkStore) => <T>(work: (store: JunkStore) => Promise<T>) => work(s);
    const copied = storeWith('1000.first');
    const asked: unknown[] = [];
    expect(await learnJunkFound(inStore(copied.store), bytes, 0, async (read) => (asked.push(read), true))).toBe('a copy: the desk still holds the message it read');
    expect(asked).toEqual([{ id: 1, status: 'new', spamVerdict: 'unsure', outcome: 'created', source: 'maildir:local', position: '1000.first' }]);
    expect(copied.learnt).toEqual([]);
    const moved = storeWith('1000.first');
    expect(await learnJunkFound(inStore(moved.store), bytes, 0, async () => false)).toBe('learnt');
    expect(moved.learnt).toHaveLength(1);
    // Taken from the junk folder by the desk itself: the source is not even asked.
    const taken = storeWith('junk:7');
    expect(await learnJunkFound(inStore(taken.store), bytes, 0, async () => { throw new Error('asked'); })).toBe('taken from the junk folder');
  });
});
