/** Builds small RFC 5322 messages for tests (CRLF line ends). */
export interface MailSpec {
  from?: string;
  to?: string;
  cc?: string;
  subject?: string;
  messageId?: string | null;
  inReplyTo?: string;
  references?: string[];
  date?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function buildMail(spec: MailSpec): Buffer {
  const lines: string[] = [];
  lines.push(`From: ${spec.from ?? 'Carla Customer <carla@customer.test>'}`);
  lines.push(`To: ${spec.to ?? 'support@example.test'}`);
  if (spec.cc) lines.push(`Cc: ${spec.cc}`);
  lines.push(`Subject: ${spec.subject ?? 'Printer broken'}`);
  lines.push(`Date: ${spec.date ?? 'Mon, 2 Nov 2026 10:00:00 +0000'}`);
  if (spec.messageId !== null) lines.push(`Message-ID: ${spec.messageId ?? `<${Math.random().toString(36).slice(2)}@customer.test>`}`);
  if (spec.inReplyTo) lines.push(`In-Reply-To: ${spec.inReplyTo}`);
  if (spec.references?.length) lines.push(`References: ${spec.references.join('\r\n ')}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push('MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${(spec.body ?? 'Hello, it does not print.').replace(/\r?\n/g, '\r\n')}\r\n`);
}

/** A delivery status notification for one of our messages, as Postfix writes them. */
export function buildDsn(originalMessageId: string, recipient: string, status = '5.1.1', diagnostic = '550 5.1.1 user unknown', from = 'MAILER-DAEMON@mx.customer.test (Mail Delivery System)'): Buffer {
  const body = [
    'This is a MIME-encapsulated message.',
    '',
    '--BOUNDARY',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'I\'m sorry to have to inform you that your message could not be delivered.',
    '',
    '--BOUNDARY',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.customer.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    `Status: ${status}`,
    `Diagnostic-Code: smtp; ${diagnostic}`,
    '',
    '--BOUNDARY',
    'Content-Type: text/rfc822-headers',
    '',
    'From: Support <support@example.test>',
    `To: ${recipient}`,
    `Message-ID: ${originalMessageId}`,
    'Subject: [HD-1] Printer broken',
    '',
    '--BOUNDARY--',
  ].join('\r\n');
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@example.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Date: Mon, 23 Nov 2026 10:05:00 +0000',
      `Message-ID: <bounce-${Math.random().toString(36).slice(2)}@mx.customer.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/** A multipart mail as a client sends it: text and html, the html showing an inline image by cid, and a PDF. */
export function buildMailWithFiles(spec: { from: string; subject: string; inReplyTo?: string; references?: string[]; messageId: string; text: string; pdf: Buffer; png: Buffer }): Buffer {
  const b64 = (buf: Buffer) => buf.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `From: ${spec.from}`,
      'To: support@example.test',
      `Subject: ${spec.subject}`,
      `Message-ID: ${spec.messageId}`,
      ...(spec.inReplyTo ? [`In-Reply-To: ${spec.inReplyTo}`, `References: ${(spec.references ?? []).join(' ')}`] : []),
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="MIX"',
      '',
      '--MIX',
      'Content-Type: multipart/related; boundary="REL"',
      '',
      '--REL',
      'Content-Type: multipart/alternative; boundary="ALT"',
      '',
      '--ALT',
      'Content-Type: text/plain; charset=utf-8',
      '',
      spec.text,
      '--ALT',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>${spec.text}</p><img src="cid:shot@client.test">`,
      '--ALT--',
      '--REL',
      'Content-Type: image/png; name="screenshot.png"',
      'Content-Transfer-Encoding: base64',
      'Content-ID: <shot@client.test>',
      'Content-Disposition: inline; filename="screenshot.png"',
      '',
      b64(spec.png),
      '--REL--',
      '--MIX',
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      '',
      b64(spec.pdf),
      '--MIX--',
      '',
    ].join('\r\n'),
  );
}
