/**
 * Comparing two spam filters at the same unsure rate. Each filter's shipped cutoffs put a
 * different share of mail in "unsure", and a filter that is unsure about more mail misses
 * fewer spams for free; so bench:spam also asks, from the scores each filter gave the test
 * mail: with cutoffs chosen knowing the answers (the best the filter could possibly do), how
 * few spams can it let through as ham while calling no more ham spam, and leaving no more
 * mail unsure, than the other filter did?
 */

export interface Rates {
  hamAsSpam: number;
  spamAsHam: number;
  unsure: number;
  /** Mail at or above this score is spam, at or below `hamCutoff` ham, else unsure. */
  hamCutoff: number;
  spamCutoff: number;
}

/**
 * The cutoffs with the fewest spam→ham among those with at most `maxHamAsSpam` ham→spam and
 * at most `maxUnsure` unsure (counts, over all test mail); ties go to fewer unsure. null
 * when no cutoffs meet both limits.
 */
export function bestCutoffs(spamScores: number[], hamScores: number[], limits: { maxHamAsSpam: number; maxUnsure: number }): Rates | null {
  const spam = [...spamScores].sort((a, b) => a - b);
  const ham = [...hamScores].sort((a, b) => a - b);
  // Only the order of scores matters: candidates are every score (as a cutoff, inclusive)
  // and a value beyond each end, so that "nothing is ham" and "nothing is spam" are possible.
  const values = [...new Set([-1, ...spam, ...ham, 2])].sort((a, b) => a - b);
  let best: Rates | null = null;
  for (let si = 0; si < values.length; si++) {
    const spamCutoff = values[si];
    const hamAsSpam = ham.length - countBelow(ham, spamCutoff);
    if (hamAsSpam > limits.maxHamAsSpam) continue;
    const spamAsSpam = spam.length - countBelow(spam, spamCutoff);
    for (let hi = si - 1; hi >= 0; hi--) {
      const hamCutoff = values[hi];
      const spamAsHam = countAtMost(spam, hamCutoff);
      const unsure = spam.length - spamAsSpam - spamAsHam + (countBelow(ham, spamCutoff) - countAtMost(ham, hamCutoff));
      // Lowering hamCutoff turns spam→ham into unsure mail: go down until too much is unsure.
      if (unsure > limits.maxUnsure) break;
      const candidate = { hamAsSpam, spamAsHam, unsure, hamCutoff, spamCutoff };
      if (!best || spamAsHam < best.spamAsHam || (spamAsHam === best.spamAsHam && unsure < best.unsure)) best = candidate;
    }
  }
  return best;
}

/** How many of the sorted `xs` are < v. */
const countBelow = (xs: number[], v: number) => countUpTo(xs, v, false);

/** How many of the sorted `xs` are <= v. */
const countAtMost = (xs: number[], v: number) => countUpTo(xs, v, true);

/** Binary search: how many of the sorted `xs` are below `v` (or equal to it, when `inclusive`). */
function countUpTo(xs: number[], v: number, inclusive: boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v || (inclusive && xs[mid] === v)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
