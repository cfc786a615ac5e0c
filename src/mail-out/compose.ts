import type Mail from 'nodemailer/lib/mailer';
import type { Config } from '../config/schema';
import { ticketSubject } from '../pipeline/reply-subject';
import { bareContentId, type OutboxAttachment } from '../pipeline/mail-attachments';
import type { OutboxEntry } from '../store/outbox';
import type { Rendered } from './templates';

/** Templates that are a person's words relayed, not automatic mail (RFC 3834 does not apply). */
const RELAYED = new Set(['agent_reply']);

/**
 * The message for one outbox row (issue #5 "Threading headers"): the row's fixed Message-ID,
 * In-Reply-To and References, subject and Date, so that a resend is the same message; From
 * and Reply-To the support address ("Ana via Support" on relayed replies); automatic mail
 * marked `Auto-Submitted: auto-replied` and `X-Auto-Response-Suppress: All`.
 */
export function composeMessage(row: OutboxEntry, rendered: Rendered, config: Config, readFile: (relative: string) => Buffer): Mail.Options {
  const address = config.helpdesk.address;
  const relayed = RELAYED.has(row.template);
  const agentName = typeof row.data.agentName === 'string' ? row.data.agentName : null;
  const headers: Record<string, string> = {};
  if (!relayed) {
    headers['Auto-Submitted'] = 'auto-replied';
    headers['X-Auto-Response-Suppress'] = 'All';
    headers['X-Helpdesk-Loop'] = address;
  }
  if (row.ref) headers['X-Helpdesk-Ticket'] = row.ref;
  return {
    from: { name: relayed && agentName ? `${agentName} via ${config.helpdesk.name}` : config.helpdesk.name, address },
    replyTo: address,
    to: row.recipients,
    // A subject template's line, with the ticket's tag in front as every ticket mail has it.
    subject: rendered.subject === null ? row.subject : row.ref ? ticketSubject(row.ref, rendered.subject, config.helpdesk.ticketPrefix) : rendered.subject,
    messageId: row.messageId,
    inReplyTo: row.inReplyTo ?? undefined,
    references: row.references.length > 0 ? row.references : undefined,
    date: new Date(row.createdAt),
    text: rendered.text,
    html: rendered.html,
    headers,
    envelope: { from: address, to: row.recipients },
    // The files the row carries (pipeline/mail-attachments.ts), as they were received: same
    // bytes, type and name, inline images with their Content-ID so html that shows them still does.
    attachments: carried(row).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: readFile(a.path),
      ...(a.contentId ? { cid: bareContentId(a.contentId) } : {}),
      contentDisposition: a.inline ? ('inline' as const) : ('attachment' as const),
    })),
  };
}

/** The attachments of a row's data; rows written before there were any carry none. */
export function carried(row: OutboxEntry): OutboxAttachment[] {
  return Array.isArray(row.data.attachments) ? (row.data.attachments as OutboxAttachment[]) : [];
}
