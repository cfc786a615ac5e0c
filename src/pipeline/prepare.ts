import type { Config } from '../config/schema';
import { findAgent } from './agents';
import { parsedWithin, type ParseAhead } from './parse-ahead';
import { parseMail } from './stages/parse';
import { verifyDkim, type DkimResults, type DnsResolver } from './trust';
import type { InboundMail, RawMessage } from './types';

/**
 * The slow work on a message that needs no store: its parse (up to limits.processingTime, on a
 * worker); for a mail from an agent's address, the parse of the one message it has attached
 * (an agent's forward: stages/forward.ts) and, in `trust.mode: dkim`, its DKIM verification
 * (a DNS lookup, up to 10 s). The intake does it before it takes the store's write turn:
 * inside, a slow parse or DNS held every other writer up (the outbox worker marking mail
 * sent, the jobs, an MTA's `helpdesk ingest`). The stages use what is here, and do the work
 * themselves when it is not (`helpdesk rules test`, a config that changed in between).
 */
export interface Prepared {
  /** Rejects as the parse stage would throw. */
  parsed?: Promise<InboundMail>;
  /** The parse of the message an agent's mail has attached (message/rfc822), when it has exactly one. */
  forwarded?: Promise<InboundMail>;
  dkim?: Promise<DkimResults>;
}

/** Never rejects: a failure is in the promise it prepared, for the stage to report. */
export async function prepareMessage(raw: RawMessage, config: Config, ahead: ParseAhead | undefined, dnsResolver: DnsResolver | undefined): Promise<Prepared> {
  // What the size-limit and parse stages turn away is left to them, unread.
  if (raw.oversized || raw.bytes.length === 0 || raw.bytes.length > config.limits.maxMessageSize) return {};
  const parsed = parsedWithin(ahead, raw.bytes, config.limits.processingTime, (bytes) => parseMail(bytes));
  let mail: InboundMail;
  try {
    mail = await parsed;
  } catch {
    return { parsed };
  }
  const from = mail.from?.address;
  if (!from || mail.fromFallback || !findAgent(config, from)) return { parsed };
  const attached = forwardedAttachment(mail);
  const forwarded = attached ? parsedWithin(ahead, attached, config.limits.processingTime, (bytes) => parseMail(bytes)) : undefined;
  const dkim = config.trust.mode === 'dkim' ? verifyDkim(raw.bytes, { resolver: dnsResolver }) : undefined;
  await Promise.all([forwarded?.catch(() => undefined), dkim?.catch(() => undefined)]);
  return { parsed, forwarded, dkim };
}

/** The message an agent's mail forwards as an attachment: its one message/rfc822 part. */
export function forwardedAttachment(mail: InboundMail): Buffer | null {
  const attached = mail.attachments.filter((a) => a.contentType === 'message/rfc822');
  return attached.length === 1 ? attached[0].content : null;
}
