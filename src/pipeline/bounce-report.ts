import type { BounceReport, InboundMail } from './types';

/**
 * Reads a bounce: which message it is about, for whom, and why (RFC 3464
 * message/delivery-status, plus the common non-standard forms: qmail, Exim and Postfix
 * plain text, Exchange and Gmail prose with the original headers attached or quoted).
 * Pure; the bounce stage matches the result against the outbox.
 */
export function readBounce(mail: InboundMail): BounceReport {
  const dsn = mail.attachments.find((a) => a.contentType === 'message/delivery-status');
  // mailparser inlines a delivery-status part without Content-Disposition into the text.
  const fields = dsn ? parseDsnFields(dsn.content.toString('latin1')) : /^(final|original)-recipient\s*:/im.test(mail.text) ? parseDsnFields(mail.text) : null;
  const original = mail.attachments.filter((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822-headers');
  const ids: string[] = [];
  const add = (id: string | null | undefined) => {
    if (id && !ids.includes(id)) ids.push(id);
  };
  for (const part of original) add(headerMessageId(part.content.toString('latin1')));
  // Bodies that quote the original headers ("------ This is a copy of the message, including all the headers").
  add(headerMessageId(mail.text, true));
  // Some MTAs thread their bounce to the original.
  add(mail.inReplyTo);
  for (const r of [...mail.references].reverse()) add(r);

  const prose = `${mail.text}\n${fields?.diagnostic ?? ''}`;
  const status = fields?.status ?? /\b([45])\.(\d{1,3})\.(\d{1,3})\b/.exec(prose)?.[0] ?? inferStatus(prose);
  const recipient = fields?.recipient ?? failedRecipientHeader(mail) ?? /<([^<>\s@]+@[^<>\s]+)>\s*:/.exec(mail.text)?.[1]?.toLowerCase() ?? null;
  const diagnostic = fields?.diagnostic ?? firstDiagnosticLine(mail.text);
  return { originalMessageIds: ids, recipient, status, diagnostic, hard: status !== null && /^5\.1\.\d+$/.test(status) };
}

interface DsnFields {
  recipient: string | null;
  status: string | null;
  diagnostic: string | null;
}

/** The first failed recipient's fields of a message/delivery-status body (continuation lines joined). */
export function parseDsnFields(body: string): DsnFields {
  const unfolded = body.replace(/\r?\n[ \t]+/g, ' ');
  const blocks = unfolded.split(/\r?\n\s*\r?\n/).map((block) => {
    const map = new Map<string, string>();
    for (const line of block.split(/\r?\n/)) {
      const m = /^([\w-]+)\s*:\s*(.*)$/.exec(line);
      if (m && !map.has(m[1].toLowerCase())) map.set(m[1].toLowerCase(), m[2].trim());
    }
    return map;
  });
  const perRecipient = blocks.filter((b) => b.has('final-recipient') || b.has('original-recipient') || b.has('status'));
  const failed = perRecipient.find((b) => /^failed|^delayed/i.test(b.get('action') ?? '')) ?? perRecipient[0];
  if (!failed) return { recipient: null, status: null, diagnostic: null };
  const addr = (v: string | undefined) => (v ? v.replace(/^[\w-]+\s*;\s*/, '').replace(/^<|>$/g, '').trim().toLowerCase() || null : null);
  return {
    recipient: addr(failed.get('final-recipient')) ?? addr(failed.get('original-recipient')),
    status: /\d\.\d{1,3}\.\d{1,3}/.exec(failed.get('status') ?? '')?.[0] ?? null,
    diagnostic: failed.get('diagnostic-code')?.replace(/^[\w-]+\s*;\s*/, '') ?? null,
  };
}

/** The Message-ID header of a header block (or, `anywhere`, of quoted headers inside a text). */
function headerMessageId(text: string, anywhere = false): string | null {
  const head = anywhere ? text : text.split(/\r?\n\r?\n/)[0];
  const m = new RegExp(`${anywhere ? '' : '^'}message-id\\s*:\\s*(<[^<>\\s]+>)`, 'im').exec(head);
  return m ? m[1] : null;
}

function failedRecipientHeader(mail: InboundMail): string | null {
  const v = mail.headers.find((h) => h.name === 'x-failed-recipients')?.value;
  return v ? v.split(',')[0].trim().toLowerCase() : null;
}

/** Mail systems that give no status code still say why in words; 5.1.1 for "no such user". */
function inferStatus(text: string): string | null {
  if (/user unknown|no such (user|mailbox|recipient)|unknown (user|recipient)|does not exist|address rejected|invalid recipient|mailbox unavailable|recipient not found/i.test(text)) return '5.1.1';
  if (/mailbox (is )?full|quota exceeded|over quota/i.test(text)) return '4.2.2';
  if (/\b5\d\d\b/.test(text)) return '5.0.0';
  return null;
}

function firstDiagnosticLine(text: string): string | null {
  const line = text.split(/\r?\n/).find((l) => /\b[45]\d\d\b|[45]\.\d\.\d|user unknown|does not exist|rejected/i.test(l));
  return line ? line.trim().slice(0, 500) : null;
}
