import { isMailAddress } from '../../lib/mail-address';
import { isAgentAddress, isOwnAddress } from '../agents';
import { isAutomaticAddress } from '../automatic-senders';
import { unsignedOf } from '../trust';
import type { ActorDecision, Draft, MailAddress, Stage, StageContext } from '../types';

/**
 * Who wrote the message: an agent (a configured address whose claim the authenticate stage
 * believed) or a customer. Also decides who becomes a participant, as Request Tracker does by
 * default (issue #17): the people in To/Cc of mail from the ticket's customer (or of a new
 * ticket, or of a trusted agent); never the sender of a reply who is not on the ticket yet
 * (anyone who knows a Message-ID could join), never automatic mail or automatic addresses,
 * and at most `limits.maxParticipants` people per ticket.
 */
export const actor: Stage = {
  name: 'actor',
  async run(draft, ctx) {
    const mail = draft.mail;
    if (!mail) throw new Error('actor stage needs a parsed mail');
    const from = mail.from;
    const claim = draft.agentClaim ?? null;
    const people = await participantsOf(draft, ctx, claim?.trusted === true);
    if (from && claim?.trusted) {
      return { actor: { role: 'agent', address: from.address, name: from.name || claim.agentName, agentName: claim.agentName, reason: claim.reason, trustWarning: null, ...people } };
    }
    const decision: ActorDecision = {
      role: 'customer',
      address: from?.address ?? null,
      name: from?.name || null,
      agentName: null,
      reason: claim ? `claims agent address ${from?.address} but ${claim.reason}; handled as a customer` : from ? `${from.address} is not a configured agent${draft.senderDoubt ? `, nor believed to be who wrote this (${draft.senderDoubt}): a stranger` : ''}` : 'message has no From address',
      trustWarning: claim ? `message from ${from?.address} not trusted as agent: ${claim.reason}` : draft.senderDoubt ? `message from ${from?.address} not believed to come from that address: ${draft.senderDoubt}; no participant's powers, nobody added` : null,
      ...people,
    };
    return { actor: decision };
  },
};

async function participantsOf(draft: Draft, ctx: StageContext, trustedAgent: boolean): Promise<Pick<ActorDecision, 'participants' | 'participantsNotAdded' | 'participantsUnusable' | 'participantsUnproven'>> {
  const mail = draft.mail;
  const none = { participants: [], participantsNotAdded: [], participantsUnusable: [], participantsUnproven: [] };
  if (!mail || draft.classification?.kind !== 'normal') return none;
  const ticket = draft.thread?.ticket ?? null;
  const sender = mail.from?.address ?? null;
  const customer = ticket ? ((await ctx.store.ticketInfo(ticket.id))?.customer ?? null) : sender;
  if (!trustedAgent && (sender === null || sender !== customer || draft.senderDoubt)) return none;

  const existing = new Set(ticket ? (await ctx.store.participants(ticket.id)).map((p) => p.email) : sender ? [sender] : []);
  const wanted = new Map<string, MailAddress>();
  const unusable = new Set<string>();
  // A trusted agent's To/Cc that the DKIM signature does not sign could have been added by
  // whoever replays the signed mail, to join the ticket (trust.ts).
  const unsigned = unsignedOf(draft.agentClaim);
  for (const a of [...(unsigned.includes('to') ? [] : mail.to), ...(unsigned.includes('cc') ? [] : mail.cc)]) {
    if (existing.has(a.address) || a.address === sender || wanted.has(a.address)) continue;
    // `<>`, `<@>`, a bare word: kept on the message, but mail to it goes nowhere and a
    // server refuses it, so it is no one to relay replies to.
    if (!isMailAddress(a.address)) {
      unusable.add(a.address);
      continue;
    }
    if (isOwnAddress(ctx.config, a.address) || isAgentAddress(ctx.config, a.address) || isAutomaticAddress(a.address)) continue;
    wanted.set(a.address, a);
  }
  const all = [...wanted.values()];
  // A customer's reply that names none of the ticket's Message-IDs, only its guessable tag,
  // may come from anyone who writes the customer's address: whom it copies joins nobody (they
  // would receive every later reply). A reply to mail the customer received names one.
  if (!trustedAgent && draft.thread?.byTagAlone) return { ...none, participantsUnusable: [...unusable], participantsUnproven: all.map((a) => a.address) };
  const room = Math.max(0, ctx.config.limits.maxParticipants - existing.size);
  return { participants: all.slice(0, room), participantsNotAdded: all.slice(room).map((a) => a.address), participantsUnusable: [...unusable], participantsUnproven: [] };
}
