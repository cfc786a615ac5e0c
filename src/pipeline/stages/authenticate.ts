import { findAgent } from '../agents';
import { checkTrust, fallbackDoubt, senderDoubt } from '../trust';
import type { Stage } from '../types';

/**
 * Whether a message that claims to be from an agent is believed (trust.ts); of anyone else's,
 * whether our MTA found its From address spoofed (dmarc=fail: senderDoubt). In the checking
 * modes an address taken from Sender or Reply-To for want of a From is believed of nobody
 * (fallbackDoubt). It runs before threading, because a subject tag is honoured from an agent
 * only when the claim holds, and from a participant only when the address is not doubted: a
 * spoofed address is a stranger everywhere (issue #17).
 */
export const authenticate: Stage = {
  name: 'authenticate',
  async run(draft, ctx) {
    const from = draft.mail?.from;
    const agent = from ? findAgent(ctx.config, from.address) : null;
    if (!from || !draft.mail) return { agentClaim: null, senderDoubt: null };
    const fallback = fallbackDoubt(ctx.config.trust, draft.mail.fromFallback);
    if (!agent) return { agentClaim: null, senderDoubt: fallback ?? senderDoubt(ctx.config.trust, draft.mail.headers, from.address) };
    if (fallback) return { agentClaim: { agent: agent.email, agentName: agent.name, trusted: false, reason: fallback, unsigned: [] } };
    const verdict = await checkTrust(ctx.config.trust, draft.mail.headers, draft.raw.bytes, from.address, { resolver: ctx.dnsResolver, verified: ctx.prepared?.dkim });
    return { agentClaim: { agent: agent.email, agentName: agent.name, ...verdict } };
  },
};
