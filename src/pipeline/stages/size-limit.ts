import type { Stage } from '../types';

/** Messages over `limits.maxMessageSize` are kept on disk and quarantined, never parsed. */
export const sizeLimit: Stage = {
  name: 'size-limit',
  run(draft, ctx) {
    const limit = ctx.config.limits.maxMessageSize;
    const size = draft.raw.bytes.length;
    if (size === 0) return { stop: { outcome: 'quarantined', reason: 'empty message (0 bytes)', ticket: null } };
    if (size <= limit) return {};
    return {
      stop: {
        outcome: 'quarantined',
        reason: `message is ${size} bytes, over limits.maxMessageSize (${limit} bytes)`,
        ticket: null,
      },
    };
  },
};
