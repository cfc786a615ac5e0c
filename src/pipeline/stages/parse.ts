import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import { sha256Hex } from '../../lib/hash';
import { sanitizeFilename } from '../filename';
import type { InboundAttachment, InboundMail, MailAddress, Stage } from '../types';

/** Parses the raw bytes into our InboundMail; the only place that knows mailparser. */
export const parse: Stage = {
  name: 'parse',
  async run(draft) {
    return { mail: await parseMail(draft.raw.bytes, draft.rawSha256) };
  },
};

const MBOX_FROM_LINE = /^From [^\r\n]*\r?\n/;

export async function parseMail(bytes: Buffer, rawSha256 = sha256Hex(bytes)): Promise<InboundMail> {
  // Files cut from an mbox (and many test suites) start with a `From ` envelope line; it is
  // not a header and would make the parser treat the whole header block as body.
  const start = MBOX_FROM_LINE.exec(bytes.subarray(0, 1024).toString('latin1'));
  const body = start ? bytes.subarray(start[0].length) : bytes;
  const parsed = await simpleParser(body, {
    skipTextToHtml: true,
    skipImageLinks: true,
    keepCidLinks: true,
  });
  const messageId = firstMessageId(parsed.messageId);
  const html = typeof parsed.html === 'string' ? sanitizeMailHtml(parsed.html) : null;
  return {
    messageId: messageId ?? `<${rawSha256}@helpdesk.invalid>`,
    messageIdSynthetic: messageId === null,
    inReplyTo: firstMessageId(parsed.inReplyTo),
    references: messageIdList(parsed.references),
    from: addressList(parsed.from)[0] ?? null,
    to: addressList(parsed.to),
    cc: addressList(parsed.cc),
    replyTo: addressList(parsed.replyTo),
    subject: (parsed.subject ?? '').replace(/\s+/g, ' ').trim(),
    text: parsed.text ?? '',
    html,
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null,
    headers: parsed.headerLines.map((h) => ({ name: h.key, value: headerValue(h.line) })),
    attachments: parsed.attachments.map(toAttachment),
  };
}

function toAttachment(a: ParsedMail['attachments'][number], index: number): InboundAttachment {
  const contentType = (a.contentType || 'application/octet-stream').toLowerCase();
  return {
    filename: sanitizeFilename(a.filename, contentType, index),
    contentType,
    size: a.content.length,
    sha256: sha256Hex(a.content),
    contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
    inline: a.contentDisposition === 'inline' || a.related === true,
    content: a.content,
  };
}

function addressList(field: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (!field) return [];
  const out: MailAddress[] = [];
  const visit = (entries: AddressObject['value']) => {
    for (const e of entries) {
      if (e.group) visit(e.group);
      else if (e.address) out.push({ address: e.address.trim().toLowerCase(), name: (e.name ?? '').trim() });
    }
  };
  for (const obj of Array.isArray(field) ? field : [field]) visit(obj.value);
  return out;
}

const ID_PATTERN = /<[^<>\s]+>/g;

function messageIdList(value: string | string[] | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(' ') : value;
  const ids = text.match(ID_PATTERN);
  if (ids) return [...new Set(ids)];
  // Some clients send ids without angle brackets; accept a lone token that looks like one.
  return text
    .split(/\s+/)
    .filter((t) => /^[^@\s]+@[^@\s]+$/.test(t))
    .map((t) => `<${t}>`);
}

function firstMessageId(value: string | string[] | undefined): string | null {
  return messageIdList(value)[0] ?? null;
}

function headerValue(line: string): string {
  const colon = line.indexOf(':');
  return (colon === -1 ? line : line.slice(colon + 1)).replace(/\r?\n[ \t]+/g, ' ').trim();
}

/**
 * Mail html is untrusted: keep structure and formatting, drop scripts, event handlers,
 * forms and remote-loading tricks. Images may only point at http(s), or at cid: parts
 * of the same message.
 */
function sanitizeMailHtml(html: string): string {
  return sanitizeHtml(html, {
    allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'font', 'center', 'span'],
    allowedAttributes: {
      ...sanitizeHtml.defaults.allowedAttributes,
      img: ['src', 'alt', 'title', 'width', 'height'],
      '*': ['style', 'align', 'dir', 'lang'],
      font: ['color', 'face', 'size'],
      td: ['colspan', 'rowspan', 'style', 'align', 'valign', 'width'],
      th: ['colspan', 'rowspan', 'style', 'align', 'valign', 'width'],
    },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: ['http', 'https', 'cid'] },
    transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }) },
  });
}
