import type { RawMessage, Stage } from '../types';

/** The message's size in bytes, also when it was too big to be read (RawMessage.oversized). */
export const rawSize = (raw: RawMessage): number => raw.oversized?.size ?? raw.bytes.length;

/** Messages over `limits.maxMessageSize` are kept on disk and quarantined, never parsed. */
export const sizeLimit: Stage = {
  name: 'size-limit',
  run(draft, ctx) {
    const limit = ctx.config.limits.maxMessageSize;
    const size = rawSize(draft.raw);
    if (size === 0) return { stop: { outcome: 'quarantined', reason: 'empty message (0 bytes)', ticket: null } };
    if (size <= limit && !draft.raw.oversized) return {};
    return {
      stop: {
        outcome: 'quarantined',
        reason: `message is ${size} bytes, over limits.maxMessageSize (${limit} bytes)`,
        ticket: null,
      },
    };
  },
};
