import type { Stage } from '../types';

/** The same bytes were processed before (a re-delivery, an IMAP re-scan): nothing new to do. */
export const dedupRaw: Stage = {
  name: 'dedup-raw',
  async run(draft, ctx) {
    const seen = await ctx.store.processedRaw(draft.rawSha256);
    if (!seen) return {};
    return {
      stop: { outcome: 'duplicate', reason: `same raw message already processed (sha256 ${draft.rawSha256.slice(0, 12)})`, ticket: seen.ticketRef },
    };
  },
};
