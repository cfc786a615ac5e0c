import type { Config } from '../config/schema';
import type { InboundAttachment, PlannedMail, TemplateName } from './types';

/** An attachment of the message as stored: `path` null when its body was not kept. */
export interface StoredAttachment {
  attachment: InboundAttachment;
  path: string | null;
  omittedReason: string | null;
}

/** A file an outbox row carries (the outbox worker reads it from the store when it sends). */
export interface OutboxAttachment {
  filename: string;
  contentType: string;
  /** Relative to the data dir, as the store gave it. */
  path: string;
  contentId: string | null;
  inline: boolean;
}

/** What a notification carries: the files, the list its template shows, and the inline images its html shows. */
export interface CarriedFiles {
  attachments: OutboxAttachment[];
  attachmentList: Array<{ filename: string; size: string; note: string | null }>;
  inlineImages: Array<{ cid: string; filename: string }>;
}

/** Templates that tell an agent about a customer's message. */
const TO_AGENTS = new Set<TemplateName>(['assigned', 'customer_replied', 'unassigned']);

/**
 * The files a notification carries, and the list its template shows. An agent's reply relayed
 * to the customer carries every file the agent attached, inline images with their Content-ID.
 * A mail telling an agent about a customer's message carries the customer's files up to
 * `notifications.attachToAgents` in total, in the order they came; the rest, and files not
 * kept at all, are listed with name, size and why, so the agent knows they exist.
 */
export function attachmentsFor(mail: PlannedMail, files: StoredAttachment[], config: Config): CarriedFiles {
  const relay = mail.template === 'agent_reply';
  if (!relay && !TO_AGENTS.has(mail.template)) return { attachments: [], attachmentList: [], inlineImages: [] };
  const budget = relay ? Infinity : config.notifications.attachToAgents;
  let used = 0;
  const attachments: OutboxAttachment[] = [];
  const attachmentList = files.map(({ attachment: a, path, omittedReason }) => {
    let note: string | null = null;
    if (path === null) note = omittedReason ?? 'not kept';
    else if (used + a.size > budget) note = `not attached: over notifications.attachToAgents; kept on the ticket`;
    else {
      used += a.size;
      attachments.push({ filename: a.filename, contentType: a.contentType, path, contentId: a.contentId, inline: a.inline });
    }
    return { filename: a.filename, size: humanSize(a.size), note };
  });
  // The html part is rebuilt from the text (commands and quotes taken out), so the sender's own
  // <img src="cid:…"> is gone: the images partial shows each carried inline image by its
  // Content-ID instead, and the image still shows where the reader's client shows html.
  const inlineImages = attachments
    .filter((a) => a.inline && a.contentId !== null && a.contentType.toLowerCase().startsWith('image/'))
    .map((a) => ({ cid: bareContentId(a.contentId ?? ''), filename: a.filename }));
  return { attachments, attachmentList, inlineImages };
}

/** 1234567 → "1.2 MB": for people reading a notification. */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** "<shot@client>" → "shot@client": the form `cid:` URLs and nodemailer's `cid` use. */
export function bareContentId(contentId: string): string {
  return contentId.replace(/^<|>$/g, '');
}
