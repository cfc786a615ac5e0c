import type { Stage, ThreadDecision } from '../types';
import { isAgentAddress } from '../agents';

/**
 * Finds the ticket a message belongs to (DESIGN "thread"):
 * 1. References, newest first; 2. In-Reply-To (clients that drop References);
 * 3. a `[PREFIX-n]` tag in the subject, only from a participant or an agent;
 * 4. otherwise a new ticket. A stranger's tag gets a new ticket linked to the tagged one.
 */
export const thread: Stage = {
  name: 'thread',
  run(draft, ctx) {
    const mail = draft.mail;
    if (!mail) throw new Error('thread stage needs a parsed mail');
    const known = ctx.store.ticketsByMessageIds([...mail.references, ...(mail.inReplyTo ? [mail.inReplyTo] : [])]);

    for (const id of [...mail.references].reverse()) {
      const ticket = known.get(id);
      if (ticket) return decided({ ticket, threadedBy: 'references', reason: `References contains ${id} of ${ticket.ref}`, linkTo: null });
    }
    if (mail.inReplyTo) {
      const ticket = known.get(mail.inReplyTo);
      if (ticket) return decided({ ticket, threadedBy: 'in-reply-to', reason: `In-Reply-To ${mail.inReplyTo} is a message of ${ticket.ref}`, linkTo: null });
    }

    const tagged = findTag(mail.subject, ctx.config.helpdesk.ticketPrefix);
    if (tagged) {
      const ticket = ctx.store.ticketByRef(tagged);
      if (ticket) {
        const sender = mail.from?.address ?? null;
        if (sender && (isAgentAddress(ctx.config, sender) || ctx.store.isParticipant(ticket.id, sender))) {
          return decided({ ticket, threadedBy: 'tag', reason: `subject tag [${ticket.ref}] from a participant`, linkTo: null });
        }
        return decided({
          ticket: null,
          threadedBy: 'new',
          reason: `subject tag [${ticket.ref}] ignored: ${sender ?? 'the sender'} is not a participant of ${ticket.ref} nor an agent`,
          linkTo: ticket,
        });
      }
      return decided({ ticket: null, threadedBy: 'new', reason: `subject tag [${tagged}] names no existing ticket`, linkTo: null });
    }
    return decided({ ticket: null, threadedBy: 'new', reason: 'no known Message-ID in References/In-Reply-To and no ticket tag', linkTo: null });
  },
};

function decided(thread: ThreadDecision) {
  return { thread };
}

/** The ticket ref in a `[PREFIX-123]` subject tag, normalised to upper case, or null. */
export function findTag(subject: string, prefix: string): string | null {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`\\[\\s*${escaped}[-#\\s]?(\\d{1,12})\\s*\\]`, 'i').exec(subject);
  return m ? `${prefix}-${Number(m[1])}` : null;
}
