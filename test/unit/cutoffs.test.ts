import { bestCutoffs } from '../../src/bench/cutoffs';

/** The same question answered by trying every pair of cutoffs on a fine grid. */
function bruteForce(spam: number[], ham: number[], maxHamAsSpam: number, maxUnsure: number) {
  let best: { spamAsHam: number; unsure: number } | null = null;
  // Every score itself as a cutoff, and a fine grid between them.
  const grid = [...spam, ...ham, ...Array.from({ length: 103 }, (_, i) => (i - 1.5) / 100)];
  for (const h of grid) {
    for (const s of grid) {
      if (h >= s) continue;
      const hamAsSpam = ham.filter((x) => x >= s).length;
      const spamAsHam = spam.filter((x) => x <= h).length;
      const unsure = [...spam, ...ham].filter((x) => x > h && x < s).length;
      if (hamAsSpam > maxHamAsSpam || unsure > maxUnsure) continue;
      if (!best || spamAsHam < best.spamAsHam || (spamAsHam === best.spamAsHam && unsure < best.unsure)) best = { spamAsHam, unsure };
    }
  }
  return best;
}

describe('bestCutoffs', () => {
  it('separable scores: no errors and nothing unsure', () => {
    const r = bestCutoffs([0.9, 0.95, 0.99], [0.01, 0.1, 0.2], { maxHamAsSpam: 0, maxUnsure: 0 });
    expect(r).toMatchObject({ hamAsSpam: 0, spamAsHam: 0, unsure: 0 });
    expect(r!.hamCutoff).toBeGreaterThanOrEqual(0.2);
    expect(r!.spamCutoff).toBeLessThanOrEqual(0.9);
  });

  it('a spam scored like ham costs either an unsure message or a miss', () => {
    const spam = [0.05, 0.9, 0.99];
    const ham = [0.01, 0.1, 0.2];
    expect(bestCutoffs(spam, ham, { maxHamAsSpam: 0, maxUnsure: 0 })).toMatchObject({ spamAsHam: 1, unsure: 0 });
    // 0.05 unsure needs the ham at 0.1 and 0.2 unsure as well.
    expect(bestCutoffs(spam, ham, { maxHamAsSpam: 0, maxUnsure: 2 })).toMatchObject({ spamAsHam: 1 });
    expect(bestCutoffs(spam, ham, { maxHamAsSpam: 0, maxUnsure: 3 })).toMatchObject({ spamAsHam: 0, unsure: 3 });
  });

  it('all mail ham when ham scores above every spam and no ham may be called spam', () => {
    expect(bestCutoffs([0.5], [0.99, 1], { maxHamAsSpam: 0, maxUnsure: 0 })).toMatchObject({ hamAsSpam: 0, spamAsHam: 1, unsure: 0 });
  });

  it('agrees with trying every pair of cutoffs', () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const score = () => Math.round(rnd() * 100) / 100;
    for (let i = 0; i < 200; i++) {
      const spam = Array.from({ length: 1 + Math.floor(rnd() * 15) }, () => Math.min(1, score() + 0.3));
      const ham = Array.from({ length: 1 + Math.floor(rnd() * 15) }, () => Math.max(0, score() - 0.3));
      const limits = { maxHamAsSpam: Math.floor(rnd() * 2), maxUnsure: Math.floor(rnd() * 6) };
      const got = bestCutoffs(spam, ham, limits);
      const want = bruteForce(spam, ham, limits.maxHamAsSpam, limits.maxUnsure);
      expect(got && { spamAsHam: got.spamAsHam, unsure: got.unsure }).toEqual(want);
    }
  });
});
