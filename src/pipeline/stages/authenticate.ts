import { findAgent } from '../agents';
import { checkTrust } from '../trust';
import type { Stage } from '../types';

/**
 * Whether a message that claims to be from an agent is believed (trust.ts). It runs before
 * threading, because a subject tag is honoured from an agent only when the claim holds: a
 * spoofed agent address is a stranger everywhere (issue #17).
 */
export const authenticate: Stage = {
  name: 'authenticate',
  async run(draft, ctx) {
    const from = draft.mail?.from;
    const agent = from ? findAgent(ctx.config, from.address) : null;
    if (!from || !agent || !draft.mail) return { agentClaim: null };
    const verdict = await checkTrust(ctx.config.trust, draft.mail.headers, draft.raw.bytes, from.address, { resolver: ctx.dnsResolver });
    return { agentClaim: { agent: agent.email, agentName: agent.name, ...verdict } };
  },
};
