import type { Stage } from '../types';

/**
 * The same Message-ID from the same sender was processed before: a copy that reached us
 * twice with different transport headers (two support addresses, a resend by the MTA).
 * Synthetic Message-IDs come from the raw bytes, so dedup-raw has already covered them.
 */
export const dedupMessageId: Stage = {
  name: 'dedup-message-id',
  async run(draft, ctx) {
    const mail = draft.mail;
    if (!mail || mail.messageIdSynthetic) return {};
    const seen = await ctx.store.inboundMessage(mail.messageId, mail.from?.address ?? null);
    if (!seen) return {};
    return {
      stop: {
        outcome: 'duplicate',
        reason: `Message-ID ${mail.messageId} from ${mail.from?.address ?? '(no sender)'} already processed`,
        ticket: seen.ticketRef,
      },
    };
  },
};
