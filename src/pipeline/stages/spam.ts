import { classifyTokens, type SpamDecision } from '../../spam/classify';
import { tokenize } from '../../spam/tokenize';
import type { Stage } from '../types';

/**
 * Scores every message with the Bayes model. Only a message that starts a ticket is acted
 * on (status `spam`, or flagged `unsure`); replies in a known conversation thread normally
 * whatever their score, which is still recorded (also a reply the mail server filed as junk).
 */
export const spam: Stage = {
  name: 'spam',
  async run(draft, ctx) {
    if (!draft.mail) return {};
    const tokens = [...tokenize(draft.mail)];
    const decision = classifyTokens(tokens, await ctx.store.spamCounts(tokens), await ctx.store.spamTotals(), ctx.config.spam);
    return { spam: draft.raw.filedAsJunk ? filedAsJunk(decision, draft.raw.filedAsJunk) : decision };
  },
};

/**
 * A message the mail server's spam filter filed into the junk folder: spam, unless our filter
 * (trained) calls it ham. Then the two disagree, and it is `unsure`: an agent hears of it and
 * can clear it with `#notspam` (a customer whose mail the server misfiled is not lost in a
 * folder nobody reads). Where our filter is unsure too, or untrained, the server is believed.
 */
export function filedAsJunk(decision: SpamDecision, folder: string): SpamDecision {
  if (decision.verdict === 'ham' && decision.trained) return { ...decision, verdict: 'unsure', reason: `the mail server filed it in ${folder}, but our filter says ham: ${decision.reason}` };
  return { ...decision, verdict: 'spam', reason: `the mail server filed it in ${folder}; our filter says ${decision.trained ? decision.verdict : 'nothing yet'}: ${decision.reason}` };
}
