import EmailForwardParser from 'email-forward-parser';
import { errorMessage } from '../../lib/errors';
import { isAgentAddress, isOwnAddress } from '../agents';
import type { InboundMail, Stage } from '../types';
import { parsedWithin } from '../parse-ahead';
import { forwardedAttachment } from '../prepare';
import { parseMail } from './parse';

/**
 * An agent forwarding a customer's mail to the support address (issue #6): the ticket is the
 * original sender's, with their address, subject and text. Both forms are read: the message
 * attached as message/rfc822, and inline forwards ("---------- Forwarded message ---------",
 * Outlook's header block, other languages; email-forward-parser). Only for a new ticket
 * started by an agent; a forward of our own or another agent's mail stays the agent's.
 *
 * The attached message is parsed as the message itself is (on a worker, within
 * limits.processingTime; by the intake before the store's write turn: prepare.ts): it is
 * whatever the customer sent. One that cannot be read (not mail, beyond the parser's limits,
 * too slow) leaves the ticket the agent's, the attachment on it, and a `forward_unread` event
 * saying why; the agent's mail is never quarantined for it.
 */
export const forward: Stage = {
  name: 'forward',
  async run(draft, ctx) {
    const { mail, actor, thread } = draft;
    if (!mail || actor?.role !== 'agent' || thread?.ticket || !actor.address) return {};
    const read = await forwardedOriginal(mail, (bytes) => ctx.prepared?.forwarded ?? parsedWithin(ctx.parseAhead, bytes, ctx.config.limits.processingTime, (b) => parseMail(b)));
    if ('unread' in read) return { forwardUnread: { address: actor.address, reason: `the forwarded message could not be read (${read.unread}); the ticket is the agent's, the message attached to it` } };
    const original = read.original;
    const from = original?.from?.address;
    if (!original || !from || isOwnAddress(ctx.config, from) || isAgentAddress(ctx.config, from)) return {};
    const reason = `forwarded by agent ${actor.address}; the ticket is ${from}'s`;
    return {
      mail: { ...mail, from: original.from, fromFallback: original.fromFallback, subject: original.subject || mail.subject, text: original.text, html: original.html, date: original.date ?? mail.date, attachments: [...original.attachments, ...mail.attachments.filter((a) => a.contentType !== 'message/rfc822')] },
      actor: { role: 'customer', address: from, name: original.from?.name || null, agentName: null, reason, trustWarning: null, participants: [], participantsNotAdded: [], participantsUnusable: [], participantsUnproven: [] },
      forwardedBy: { address: actor.address, reason },
    };
  },
};

type Original = Pick<InboundMail, 'from' | 'fromFallback' | 'subject' | 'text' | 'html' | 'date' | 'attachments'>;

async function forwardedOriginal(mail: InboundMail, parseAttached: (bytes: Buffer) => Promise<InboundMail>): Promise<{ original: Original | null } | { unread: string }> {
  const attached = forwardedAttachment(mail);
  if (attached) {
    let inner: InboundMail;
    try {
      inner = await parseAttached(attached);
    } catch (err) {
      return { unread: errorMessage(err) };
    }
    if (inner.from) return { original: inner };
  }
  const parsed = new EmailForwardParser().read(mail.text, mail.subject);
  if (!parsed.forwarded || !parsed.email.from.address) return { original: null };
  const inline: Original = {
    from: { address: parsed.email.from.address.toLowerCase(), name: parsed.email.from.name ?? '' },
    subject: parsed.email.subject ?? mail.subject.replace(/^\s*(fwd?|wg|rv|tr|enc)\s*:\s*/i, ''),
    text: parsed.email.body ?? '',
    html: null,
    date: parsed.email.date && !Number.isNaN(Date.parse(parsed.email.date)) ? new Date(parsed.email.date) : null,
    attachments: [],
  };
  return { original: inline };
}
