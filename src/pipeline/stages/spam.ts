import { classifyTokens } from '../../spam/classify';
import { tokenize } from '../../spam/tokenize';
import type { Stage } from '../types';

/**
 * Scores every message with the Bayes model. Only a message that starts a ticket is acted
 * on (status `spam`, or flagged `unsure`); replies in a known conversation thread normally
 * whatever their score, which is still recorded.
 */
export const spam: Stage = {
  name: 'spam',
  async run(draft, ctx) {
    if (!draft.mail) return {};
    const tokens = [...tokenize(draft.mail)];
    return { spam: classifyTokens(tokens, await ctx.store.spamCounts(tokens), await ctx.store.spamTotals(), ctx.config.spam) };
  },
};
