import { combine, DEFAULT_SETTINGS, tokenProbability, verdictOf, type ModelTotals, type TokenCounts, type Verdict } from './model';

export interface SpamConfig {
  hamCutoff: number;
  spamCutoff: number;
  minTrained: number;
}

export interface SpamDecision {
  verdict: Verdict;
  score: number;
  reason: string;
  /** False until the model has `minTrained` messages of each kind: the verdict is then `ham` whatever the score. */
  trained: boolean;
}

/**
 * The verdict for a message's tokens given the model's counts. Until `minTrained` messages
 * of each kind are learnt the model is not trusted: verdict `ham`, reason `untrained`.
 */
export function classifyTokens(tokens: Iterable<string>, counts: Map<string, TokenCounts>, totals: ModelTotals, config: SpamConfig): SpamDecision {
  const probabilities = new Map<string, number>();
  for (const t of tokens) {
    const c = counts.get(t);
    if (c) probabilities.set(t, tokenProbability(c, totals, DEFAULT_SETTINGS));
  }
  const { score, clues } = combine(probabilities);
  if (totals.spam < config.minTrained || totals.ham < config.minTrained) {
    return { verdict: 'ham', score, trained: false, reason: `untrained (${totals.spam} spam and ${totals.ham} ham learnt; needs ${config.minTrained} of each)` };
  }
  const verdict = verdictOf(score, config.hamCutoff, config.spamCutoff);
  const top = clues
    .slice(0, 5)
    .map((c) => `${c.token} ${c.probability.toFixed(2)}`)
    .join(', ');
  return { verdict, score, trained: true, reason: `score ${formatScore(score)} (ham <= ${config.hamCutoff}, spam >= ${config.spamCutoff}); strongest clues: ${top || 'none'}` };
}

/** A score for people: four decimals, or two significant digits when it is below 0.0001 (a desk may set a cutoff down there). */
export function formatScore(score: number): string {
  return score > 0 && score < 0.0001 ? score.toExponential(1) : score.toFixed(4);
}
