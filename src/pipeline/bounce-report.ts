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
  const original = mail.attachments.filter((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822-headers');
  const fields = dsn ? parseDsnFields(dsn.content.toString('latin1')) : /^(final|original)-recipient\s*:/im.test(mail.text) ? parseDsnFields(mail.text) : forwardedDsn(original);
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
  const recipient = fields?.recipient ?? failedRecipientHeader(mail) ?? /<([^<>\s@]+@[^<>\s]+)>\s*:/.exec(mail.text)?.[1]?.toLowerCase() ?? null;
  const given = preferredStatus(fields?.status ?? null, fields?.diagnostic ?? null) ?? ENHANCED_CODE.exec(prose)?.[0] ?? null;
  const status = given !== null && !GENERIC_CODE.test(given) ? (EXPIRED_CODE.test(given) ? causeOfExpiry(prose, given) : given) : (specificInText(mail.text, recipient, given) ?? given ?? inferStatus(prose));
  const diagnostic = fields?.diagnostic ?? firstDiagnosticLine(mail.text);
  return { originalMessageIds: ids, recipient, status, diagnostic, hard: status !== null && /^5\.1\.\d+$/.test(status) };
}

const ENHANCED_CODE = /\b[245]\.\d{1,3}\.\d{1,3}\b/;

/**
 * The DSN's Status field, or the enhanced code the remote server gave in the Diagnostic-Code
 * when it says more: reporting MTAs often write a generic Status (5.0.0, 4.4.7 "expired")
 * above the remote's own 5.7.1 or 4.4.2. sisimai prefers the remote's code the same way
 * (Sisimai::SMTP::Status prefer); a generic x.0.0 in the diagnostic never replaces a
 * specific Status.
 */
export function preferredStatus(field: string | null, diagnostic: string | null): string | null {
  // The code right after an SMTP reply code ("550-'5.7.1 …") is the remote's; a code standing
  // alone may be the reporting MTA's own summary ("5.1.0 - Unknown address error 550-'5.7.1").
  const remote = diagnostic ? (/\b[245]\d\d[ -]'?([245]\.\d{1,3}\.\d{1,3})\b/.exec(diagnostic)?.[1] ?? ENHANCED_CODE.exec(diagnostic)?.[0] ?? null) : null;
  if (!remote || remote.startsWith('2')) return field;
  if (!field) return remote;
  return /^\d\.0\.0$/.test(remote) && !/^\d\.0\.0$/.test(field) ? field : remote;
}

const GENERIC_CODE = /^\d\.0\.0$/;

/**
 * Under a generic x.0.0 Status, the code the human-readable part gives: on the line that
 * names the recipient ("rcpt@x: 550 5.7.26 …", OpenSMTPD), else the first specific code of
 * the same class ("554 5.3.0 unknown mailer error", Sendmail).
 */
function specificInText(text: string, recipient: string | null, generic: string | null): string | null {
  const codes = (line: string) => [...line.matchAll(new RegExp(ENHANCED_CODE.source, 'g'))].map((m) => m[0]).filter((c) => !GENERIC_CODE.test(c) && !c.startsWith('2'));
  const lines = text.split(/\r?\n/);
  const named = recipient ? lines.find((l) => l.toLowerCase().includes(recipient) && codes(l).length > 0) : undefined;
  if (named) return codes(named)[0];
  const cls = generic?.[0];
  for (const l of lines) {
    const c = codes(l).find((x) => !cls || x[0] === cls);
    if (c) return c;
  }
  return null;
}

const EXPIRED_CODE = /^\d\.4\.7$/;

/**
 * x.4.7 only says that the retries ran out; the code of the last failure, when the report
 * gives one ("554 4.4.7 Message expired … <421 4.4.2 Connection timed out>"), says why.
 */
function causeOfExpiry(text: string, expired: string): string {
  const other = [...text.matchAll(new RegExp(ENHANCED_CODE.source, 'g'))].map((m) => m[0]).find((c) => c !== expired && !GENERIC_CODE.test(c) && c[0] === expired[0]);
  return other ?? expired;
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

/** A report forwarded whole (a gateway that wraps the bounce it got in its own): its DSN part's fields. */
function forwardedDsn(attached: InboundMail['attachments']): DsnFields | null {
  for (const part of attached) {
    const text = part.content.toString('latin1');
    const at = /^content-type:\s*message\/delivery-status/im.exec(text);
    if (at) return parseDsnFields(text.slice(at.index).replace(/^[^\n]*\n/, ''));
  }
  return null;
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
