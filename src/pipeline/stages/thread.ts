import type { Draft, Stage, StageContext, ThreadDecision } from '../types';
import { refFromBody, refFromMessageId } from '../our-message-id';
import { escapeRegex } from '../../lib/regex';
import { unsignedNote, unsignedOf, type RoutingField } from '../trust';

/**
 * Finds the ticket a message belongs to (README "How a message is processed"):
 * 0. a bounce matched to our outbox row joins that row's ticket;
 * 1. References, newest first; 2. In-Reply-To (clients that drop References);
 * 3. one of our own signed Message-IDs (valid HMAC) even when its row is gone, then the
 *    signed `[ref:…]` marker in the body (systems that rewrite Message-IDs);
 * 4. a `[PREFIX-n]` tag in the subject, only from a participant or an agent whose claim the
 *    authenticate stage believed (a spoofed agent address is a stranger here too);
 * 5. otherwise a new ticket. A stranger's tag gets a new ticket linked to the tagged one.
 * A bounce that finds no ticket stops here as `ignored`: bounces never open tickets.
 */
export const thread: Stage = {
  name: 'thread',
  async run(draft, ctx) {
    // An agent's In-Reply-To/References that the DKIM signature does not sign could have been
    // added by whoever replays the signed mail, to aim it at another ticket (trust.ts).
    const unsigned = unsignedOf(draft.agentClaim);
    const found = await findThread(draft, ctx, unsigned);
    if (unsigned.length > 0) found.reason += ` (the agent's ${unsignedNote(unsigned)})`;
    if (!found.ticket && draft.classification?.kind === 'bounce') {
      return { thread: found, stop: { outcome: 'ignored' as const, reason: draft.bounce?.reason ?? 'bounce for no known ticket', ticket: null } };
    }
    // A customer writing again long after the ticket was closed starts a new ticket, linked.
    if (found.ticket && draft.classification?.kind === 'normal') {
      const info = await ctx.store.ticketInfo(found.ticket.id);
      const window = ctx.config.replies.newTicketAfterClosed;
      if (info?.status === 'closed' && info.closedAt !== null && draft.receivedAt - info.closedAt > window) {
        const days = Math.round(window / 86_400_000);
        return { thread: { ticket: null, threadedBy: 'new' as const, reason: `${found.reason}, but ${info.ref} was closed more than ${days} days ago: a new ticket linked to it`, linkTo: found.ticket } };
      }
    }
    return { thread: found };
  },
};

async function findThread(draft: Draft, ctx: StageContext, unsigned: readonly RoutingField[]): Promise<ThreadDecision> {
  const mail = draft.mail;
  if (!mail) throw new Error('thread stage needs a parsed mail');
  const bounced = draft.bounce?.outbox?.ticket;
  if (bounced) return { ticket: bounced, threadedBy: 'references', reason: draft.bounce?.reason ?? 'bounce of our mail', linkTo: null };
  const references = unsigned.includes('references') ? [] : mail.references;
  const inReplyTo = unsigned.includes('in-reply-to') ? null : mail.inReplyTo;
  const known = await ctx.store.ticketsByMessageIds([...references, ...(inReplyTo ? [inReplyTo] : [])]);

  for (const id of [...references].reverse()) {
    const ticket = known.get(id);
    if (ticket) return { ticket, threadedBy: 'references', reason: `References contains ${id} of ${ticket.ref}`, linkTo: null };
  }
  if (inReplyTo) {
    const ticket = known.get(inReplyTo);
    if (ticket) return { ticket, threadedBy: 'in-reply-to', reason: `In-Reply-To ${inReplyTo} is a message of ${ticket.ref}`, linkTo: null };
  }
  const { ticketPrefix: prefix, address } = ctx.config.helpdesk;
  const secret = await ctx.store.messageIdSecret();
  for (const [id, by] of [...[...references].reverse().map((id) => [id, 'references'] as const), ...(inReplyTo ? [[inReplyTo, 'in-reply-to'] as const] : [])]) {
    const ref = refFromMessageId(secret, prefix, address, id);
    const ticket = ref ? await ctx.store.ticketByRef(ref) : null;
    if (ticket) return { ticket, threadedBy: by, reason: `${by === 'references' ? 'References' : 'In-Reply-To'} ${id} is signed by us for ${ref}${merged(ticket)}`, linkTo: null };
  }
  const marked = refFromBody(secret, prefix, mail.text);
  const markedTicket = marked ? await ctx.store.ticketByRef(marked) : null;
  if (markedTicket) return { ticket: markedTicket, threadedBy: 'tag', reason: `signed reference marker of ${marked} in the body${merged(markedTicket)}`, linkTo: null };

  const tagged = findTag(mail.subject, ctx.config.helpdesk.ticketPrefix);
  if (tagged) {
    const ticket = await ctx.store.ticketByRef(tagged);
    if (ticket) {
      const sender = mail.from?.address ?? null;
      if (sender && draft.agentClaim?.trusted) return { ticket, threadedBy: 'tag', reason: `subject tag [${tagged}] from agent ${sender}${merged(ticket)}`, linkTo: null };
      if (sender && !draft.senderDoubt && (await ctx.store.isParticipant(ticket.id, sender))) {
        return { ticket, threadedBy: 'tag', reason: `subject tag [${tagged}] from a participant${merged(ticket)}`, linkTo: null, byTagAlone: true };
      }
      return {
        ticket: null,
        threadedBy: 'new',
        reason: `subject tag [${ticket.ref}] ignored: ${draft.senderDoubt ? `${sender} is not believed (${draft.senderDoubt})` : `${sender ?? 'the sender'} is not a participant of ${ticket.ref} nor a trusted agent`}`,
        linkTo: ticket,
      };
    }
    return { ticket: null, threadedBy: 'new', reason: `subject tag [${tagged}] names no existing ticket`, linkTo: null };
  }
  return { ticket: null, threadedBy: 'new', reason: 'no known Message-ID in References/In-Reply-To and no ticket tag', linkTo: null };
}

/** The ticket ref in a `[PREFIX-123]` subject tag, normalised to upper case, or null. */
export function findTag(subject: string, prefix: string): string | null {
  const m = tagRegex(prefix).exec(subject);
  return m ? `${prefix}-${Number(m[1])}` : null;
}

/** A `[PREFIX-123]` tag (also `[prefix 123]`, `[PREFIX#123]`); group 1 is the number. */
export function tagRegex(prefix: string): RegExp {
  return new RegExp(`\\[\\s*${escapeRegex(prefix)}[-#\\s]?(\\d{1,12})\\s*\\]`, 'i');
}

/** How a reason says that the ticket named was followed to the one it was merged into. */
function merged(ticket: { ref: string; mergedFrom?: string }): string {
  return ticket.mergedFrom ? ` (${ticket.mergedFrom} was merged into ${ticket.ref})` : '';
}
