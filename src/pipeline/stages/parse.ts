import { convert as htmlToText } from 'html-to-text';
import iconv from 'iconv-lite';
import { isMailAddress } from '../../lib/mail-address';
import libmime from 'libmime';
import libqp from 'libqp';
import mimeTypes from 'mime-types';
import { isAscii } from 'node:buffer';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import { markupTokens } from '../../spam/markup';
import { sha256Hex } from '../../lib/hash';
import { detectCjk, isUtf8, markUndeclaredTextParts, MULTIBYTE, partCharsetDecoder, SEVEN_BIT } from '../charset-guess';
import { extensionFor, sanitizeFilename } from '../filename';
import { flattenHtml, tooTangled } from '../html-shape';
import { parsedWithin } from '../parse-ahead';
import { utf7ToUtf8 } from '../utf7';
import { extractUuencoded } from '../uuencode';
import type { InboundAttachment, InboundMail, MailAddress, Stage } from '../types';

/** Parses the raw bytes into our InboundMail; the only place that knows mailparser. */
export const parse: Stage = {
  name: 'parse',
  async run(draft, ctx) {
    return { mail: await (ctx.prepared?.parsed ?? parsedWithin(ctx.parseAhead, draft.raw.bytes, ctx.config.limits.processingTime, (bytes) => parseMail(bytes, draft.rawSha256))) };
  },
};

const MAIL_HEADERS = new Set(['from', 'sender', 'to', 'cc', 'subject', 'date', 'message-id', 'received', 'return-path', 'mime-version', 'content-type', 'delivered-to', 'reply-to']);

const LEADING_BLANK_LINES = /^(?:[ \t]*\r?\n)+/;
const MBOX_FROM_LINE = /^From [^\r\n]*\r?\n/;

/**
 * The message as a MIME parser should see it. Files cut from an mbox (and many test suites)
 * start with a `From ` envelope line; it is not a header and would make the parser treat the
 * whole header block as body. Some pipes and exports put empty or blank lines before the
 * first header; they would end the header block before it starts. Raw 8-bit headers and
 * UTF-7 become UTF-8 (see eightBitHeadersToUtf8, utf7ToUtf8).
 */
export function mimeReady(bytes: Buffer): Buffer {
  const lead = LEADING_BLANK_LINES.exec(bytes.subarray(0, 4096).toString('latin1'))?.[0].length ?? 0;
  const trimmed = bytes.subarray(lead);
  const start = MBOX_FROM_LINE.exec(trimmed.subarray(0, 1024).toString('latin1'));
  return utf7ToUtf8(eightBitHeadersToUtf8(start ? trimmed.subarray(start[0].length) : trimmed));
}

/**
 * What eightBitHeadersToUtf8 adds to a message without Content-Type whose body is 8-bit: the
 * Content-Type, and a field saying it was assumed (kept with the message's headers, so the
 * assumption shows wherever they are read).
 */
const ASSUMED_CONTENT_TYPE = 'text/plain; charset=windows-1252';
const ASSUMED_FIELD = 'X-Helpdesk-Assumed';

/**
 * Throws unless the fields (lower-case names) include one that every email has; garbage has
 * none. A Content-Type that eightBitHeadersToUtf8 added does not count (random bytes get it).
 */
export function assertMail(fields: Array<{ name: string; value: string }>): void {
  const assumed = fields.some((f) => f.name === ASSUMED_FIELD.toLowerCase());
  if (!fields.some((f) => MAIL_HEADERS.has(f.name) && !(assumed && f.name === 'content-type'))) {
    throw new Error('not an email message: no mail header fields (From, To, Subject, Date, Message-ID, Received...) found');
  }
}

export async function parseMail(bytes: Buffer, rawSha256 = sha256Hex(bytes)): Promise<InboundMail> {
  const body = mimeReady(bytes);
  // Charsets guessed for text parts and file names, recorded with the message (X-Helpdesk-Assumed).
  const guessed: string[] = [];
  const options = { skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true, Iconv: partCharsetDecoder(guessed) };
  let parsed = await simpleParser(body, options);
  if (`${parsed.text ?? ''}${typeof parsed.html === 'string' ? parsed.html : ''}`.includes('\ufffd')) {
    // A text part without a charset, or not in the UTF-8 it claims: read again with such parts
    // marked, so their bytes reach the decoder instead of becoming U+FFFD (rare; costs a parse).
    guessed.length = 0;
    parsed = await simpleParser(await markUndeclaredTextParts(body), options);
  }
  assertMail(parsed.headerLines.map((h) => ({ name: h.key, value: headerValue(h.line) })));
  const messageId = firstMessageId(parsed.messageId);
  // Html shaped to make the parser quadratic is never parsed: its text is taken as it stands,
  // and no html is kept (html-shape.ts).
  const tangled = typeof parsed.html === 'string' && tooTangled(parsed.html);
  const html = typeof parsed.html === 'string' && !tangled ? sanitizeMailHtml(parsed.html) : null;
  const { text, files } = extractUuencoded(bodyText(parsed, tangled) || brokenMultipartText(body, parsed));
  const uuFiles = files.map((f) => ({ filename: f.name, contentType: guessType(f.name), contentDisposition: 'attachment', content: f.content }));
  const parts = [...parsed.attachments, ...uuFiles].map((a) => ({ ...a, filename: cjkFilename(a.filename, guessed) }));
  return storable({
    messageId: messageId ?? `<${rawSha256}@helpdesk.invalid>`,
    messageIdSynthetic: messageId === null,
    inReplyTo: firstMessageId(parsed.inReplyTo),
    references: messageIdList(parsed.references),
    ...(await senderOf(parsed)),
    to: addressList(parsed.to),
    cc: addressList(parsed.cc),
    replyTo: addressList(parsed.replyTo),
    // As sent (runs of spaces, U+3000, a trailing space kept); threading and the subjects we
    // write normalise it (reply-subject.ts baseSubject). Only line breaks, which a folded
    // field may leave, are taken out.
    subject: (parsed.subject ?? '').replace(/\r?\n[ \t]*/g, ' '),
    text,
    html,
    markup: markupTokens(typeof parsed.html === 'string' ? parsed.html : null),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null,
    headers: [...parsed.headerLines.map((h) => ({ name: h.key, value: headerValue(h.line) })), ...guessed.map((value) => ({ name: ASSUMED_FIELD.toLowerCase(), value }))],
    attachments: parts.map(toAttachment),
  });
}

/**
 * Every text of the mail as both stores can hold it (attachment bytes untouched): without
 * U+0000, and with each lone UTF-16 surrogate as U+FFFD. Neither is ever meaningful in mail
 * text, but an encoded-word, a base64 text part or an html entity (`&#xD800;`, an odd UTF-16
 * word) can still carry one. PostgreSQL's text and jsonb cannot hold a NUL, and its jsonb
 * refuses a lone surrogate: such a mail was quarantined there while SQLite, which writes
 * U+FFFD for it, made a ticket.
 */
function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE, (c) => (c === '\u0000' ? '' : '\ufffd')) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)])) as T;
  return value;
}

/** U+0000, and a high surrogate not followed by a low one or a low one not after a high one. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g; // eslint-disable-line no-control-regex -- U+0000 is what it finds

/**
 * A part's file name sent as raw 8-bit bytes with no charset (GBK, Shift_JIS) comes out of the
 * parser as one Latin-1 character per byte ("¼¨Ð§¹ÜÀí.xls"); when those bytes are CJK text
 * (detectCjk), the name is read in that charset and the guess noted in `guessed`.
 */
function cjkFilename(name: string | undefined, guessed: string[]): string | undefined {
  if (!name || !/[\u0080-\u00ff]/.test(name) || /[^\x20-\xff]/.test(name)) return name;
  const bytes = Buffer.from(name, 'latin1');
  const charset = detectCjk(bytes);
  if (!charset) return name;
  const decoded = iconv.decode(bytes, charset);
  guessed.push(`file name "${decoded}" read as ${charset} (detected)`);
  return decoded;
}

/** The text body; from the html part when there is no (or only a blank) text part. */
function bodyText(parsed: ParsedMail, tangled: boolean): string {
  const text = parsed.text ?? '';
  if (text.trim() !== '' || typeof parsed.html !== 'string') return text;
  if (tangled) return flattenHtml(parsed.html);
  return htmlToText(parsed.html, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { ignoreHref: true } },
    ],
  }).trim();
}

/** The content type of a file name's extension (mime-types' table), else application/octet-stream. */
export function guessType(name: string): string {
  return mimeTypes.lookup(name) || 'application/octet-stream';
}

type PartLike = Pick<ParsedMail['attachments'][number], 'filename' | 'contentType' | 'contentDisposition' | 'content'> & {
  contentId?: string;
  related?: boolean;
  headers?: ParsedMail['attachments'][number]['headers'];
};

/** A part without a file name but with a Content-Description ("Undelivered Message") is named after it. */
function describedName(a: PartLike, contentType: string): string | undefined {
  const description = a.headers?.get('content-description');
  if (typeof description !== 'string' || description.trim() === '') return undefined;
  return contentType === 'message/rfc822' ? `${description.trim()}.eml` : sanitizeFilename(description.trim(), contentType, 0) + (/\.[a-z0-9]{1,5}$/i.test(description) ? '' : extensionFor(contentType));
}

/**
 * A multipart whose declared boundary never appears (broken MIME) parses to nothing at all.
 * Rather than lose the text, show the body with the boundary lines and part headers removed.
 */
function brokenMultipartText(raw: Buffer, parsed: ParsedMail): string {
  if (parsed.attachments.length > 0 || typeof parsed.html === 'string') return '';
  if (!/^content-type:\s*multipart\//im.test(parsed.headerLines.map((h) => h.line).join('\n'))) return '';
  const m = /\r?\n\r?\n/.exec(raw.subarray(0, 262144).toString('latin1'));
  if (!m) return '';
  const lines = raw.subarray(m.index + m[0].length).toString('utf8').split(/\r?\n/);
  const out: string[] = [];
  let inPartHeader = false;
  for (const line of lines) {
    if (/^--\S+$/.test(line)) {
      inPartHeader = true;
      continue;
    }
    if (inPartHeader) {
      if (line === '') inPartHeader = false;
      continue;
    }
    out.push(line);
  }
  return out.join('\n').trim();
}

function toAttachment(a: PartLike, index: number): InboundAttachment {
  const contentType = (a.contentType || 'application/octet-stream').toLowerCase();
  return {
    filename: sanitizeFilename(a.filename ?? forwardedMessageName(contentType, a.content) ?? describedName(a, contentType) ?? (contentType === 'message/rfc822' ? 'forwarded message.eml' : undefined), contentType, index),
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
      // `From: MAILER-DAEMON (Mail Delivery System)`: a bare local part, as bounces send it.
      else if (e.name && /^[A-Za-z0-9._+-]+$/.test(e.name)) out.push({ address: e.name.toLowerCase(), name: '' });
    }
  };
  for (const obj of Array.isArray(field) ? field : [field]) visit(obj.value);
  return out;
}

/**
 * Who the message is from, so the ticket has someone to answer: the parser's From when it is a
 * mail address. A From without a usable one (`<>`, spam) falls back to another From field with
 * one (some clients send two, the first broken; each read on its own), else the parser's From as
 * it is, else Sender, then Reply-To; `fromFallback` names the field a fallback came from. DKIM
 * and DMARC speak for the first From only, so trust.ts believes no fallback.
 */
async function senderOf(parsed: ParsedMail): Promise<Pick<InboundMail, 'from' | 'fromFallback'>> {
  const parsedFirst = addressList(parsed.from)[0] ?? null;
  const first = parsedFirst && { ...parsedFirst, name: writtenName(parsed.headerLines.find((h) => h.key === 'from')?.line, parsedFirst.name) };
  if (first && isMailAddress(first.address)) return { from: first };
  const fields = parsed.headerLines.filter((h) => h.key === 'from');
  for (const field of fields.length > 1 ? fields : []) {
    const one = await simpleParser(Buffer.from(`${field.line}\r\n\r\n`, 'utf8'));
    const found = addressList(one.from).find((a) => isMailAddress(a.address));
    if (found) return { from: found, fromFallback: 'a second From' };
  }
  if (first) return { from: first };
  const sender = headerAddress(parsed, 'sender');
  if (sender) return { from: sender, fromFallback: 'Sender' };
  const replyTo = addressList(parsed.replyTo)[0];
  return replyTo ? { from: replyTo, fromFallback: 'Reply-To' } : { from: null };
}

/**
 * The display name as the single-mailbox field writes it, where the parser loses it: the
 * old form's comment (`MAILER-DAEMON (Mail Delivery System)`), and a quoted name before a
 * broken address (`"your secret past" <power quadrant system@…>`, where the parser adds the
 * address's stray words to the name).
 */
function writtenName(line: string | undefined, parsedName: string): string {
  const value = line ? headerValue(line).trim() : '';
  const quoted = /^"((?:[^"\\]|\\.)*)"\s*<[^<>,]*>$/.exec(value);
  if (quoted && parsedName.startsWith(quoted[1].trim()) && parsedName !== quoted[1].trim()) return libmime.decodeWords(quoted[1].replace(/\\(.)/g, '$1')).trim();
  const comment = /^[^\s()<>",]+\s*\(([^()]*)\)$/.exec(value);
  if (comment && parsedName === '') return libmime.decodeWords(comment[1]).trim();
  return parsedName;
}

function headerAddress(parsed: ParsedMail, name: string): MailAddress | null {
  const value = parsed.headers.get(name);
  if (!value || typeof value !== 'object' || !('value' in value)) return null;
  return addressList(value as AddressObject)[0] ?? null;
}

/** An attached message without a file name is named after its subject, as mail clients do. */
function forwardedMessageName(contentType: string, content: Buffer): string | undefined {
  if (contentType !== 'message/rfc822') return undefined;
  const head = eightBitHeadersToUtf8(content.subarray(0, 16384)).toString('utf8');
  const m = /^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head);
  const subject = m ? libmime.decodeWords(m[1].replace(/\r?\n[ \t]/g, ' ')).trim() : '';
  return subject ? `${subject}.eml` : undefined;
}


/**
 * Headers must be ASCII, but some senders put raw 8-bit text in them (mostly in the
 * charset of the body, e.g. GB2312 spam and old Outlook), even inside encoded-words.
 * mailparser reads such bytes as UTF-8 and gets replacement characters, so we fix the
 * header block first: an encoded-word is decoded with its own charset; other 8-bit text is
 * transcoded from the charset the message most likely uses (see guessHeaderCharset).
 * A message with no Content-Type at all whose body is 8-bit but not UTF-8 is labelled
 * windows-1252 (what such old clients sent), instead of being decoded as UTF-8 garbage.
 */
export function eightBitHeadersToUtf8(bytes: Buffer): Buffer {
  const window = bytes.subarray(0, 262144);
  const end = headerEnd(window);
  let head = bytes.subarray(0, end);
  const body = bytes.subarray(end);
  let changed = false;
  const guessed: string[] = [];
  if (head.includes('=?')) {
    // Encoded-words whose bytes are not in the charset they name (an ISO-2022-JP word holding
    // Shift_JIS): decoded with the charset detected, as UTF-8 words.
    const fixed = fixEncodedWords(head.toString('latin1'), guessed);
    if (fixed !== null) {
      head = Buffer.from(fixed, 'latin1');
      changed = true;
    }
  }
  if (!isAscii(head) && !isUtf8(head)) {
    const withWords = head.toString('latin1').replace(/=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=/g, (word, charset: string, enc: string, data: string) => {
      if (enc.toUpperCase() !== 'Q' || !/[\x80-\xff]/.test(data) || !iconv.encodingExists(charset)) return word;
      const decoded = iconv.decode(encodedWordBytes('Q', data), charset);
      return `=?UTF-8?B?${Buffer.from(decoded, 'utf8').toString('base64')}?=`;
    });
    const rest = Buffer.from(withWords, 'latin1');
    const { charset, how } = guessHeaderCharset(rest, window.toString('latin1'));
    if (how !== 'declared') guessed.push(`raw 8-bit header text read as ${charset} (${how})`);
    head = Buffer.from(iconv.decode(rest, charset), 'utf8');
    changed = true;
  }
  if (guessed.length > 0) head = Buffer.concat([head, Buffer.from(`\r\n${ASSUMED_FIELD}: ${guessed.join('; ')}`)]);
  // Most bodies are ASCII or UTF-8: only the rest need the header block read for a charset.
  if (isAscii(body) || isUtf8(body.subarray(0, 262144))) return changed ? Buffer.concat([head, body]) : bytes;
  // Unfolded, so a charset on a continuation line counts (unfolding changes no field's meaning).
  const headText = head.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const bareText = /^content-type[ \t]*:[ \t]*text\/(plain|html)[ \t]*;?[ \t]*$/im;
  const noType = !/^content-type\s*:/im.test(headText);
  if (noType || bareText.test(headText)) {
    // An 8-bit body with no charset: CJK text when the detector finds it, else windows-1252
    // (what such old clients sent), instead of UTF-8 garbage. The guess is recorded.
    const cjk = detectCjk(body.subarray(0, 65536));
    const note = `${ASSUMED_FIELD}: ${cjk ? `body charset ${cjk} (detected)` : 'body charset windows-1252 (assumed)'}`;
    if (noType) head = Buffer.concat([head, Buffer.from(`\r\nContent-Type: ${cjk ? `text/plain; charset=${cjk}` : ASSUMED_CONTENT_TYPE}\r\n${ASSUMED_FIELD}: Content-Type (8-bit body without one)\r\n${note}`)]);
    else head = Buffer.concat([Buffer.from(headText.replace(bareText, (line) => `${line.trim().replace(/;$/, '')}; charset=${cjk ?? 'windows-1252'}`), 'latin1'), Buffer.from(`\r\n${note}`)]);
    changed = true;
  }
  return changed ? Buffer.concat([head, body]) : bytes;
}

/**
 * Where the blank line that ends the header block starts (at its `\r` or `\n`), as
 * /\r?\n\r?\n/ would find it; the whole buffer when there is none. Searches the bytes
 * without decoding them: this runs on every message.
 */
export function headerEnd(bytes: Buffer): number {
  const lf = bytes.indexOf('\n\n', 0, 'latin1');
  const crlf = bytes.indexOf('\n\r\n', 0, 'latin1');
  const first = lf < 0 ? crlf : crlf < 0 ? lf : Math.min(lf, crlf);
  if (first < 0) return bytes.length;
  return first > 0 && bytes[first - 1] === 0x0d ? first - 1 : first;
}



/**
 * The charset raw 8-bit header bytes are most likely in, and how we know. Messages sometimes
 * declare a wrong single-byte charset on one part and the right CJK one on another, and any
 * bytes decode "fine" as a single-byte charset, so a declared multi-byte charset that decodes
 * the header without errors wins; then a CJK charset the detector finds (detectCjk); then the
 * first declared charset; then windows-1252.
 */
function guessHeaderCharset(head: Buffer, messageText: string): { charset: string; how: 'declared' | 'detected' | 'declared elsewhere in the message' | 'assumed' } {
  const declared = [...new Set([...messageText.matchAll(/charset\s*=\s*"?([A-Za-z0-9_:.-]+)/gi)].map((m) => m[1].toLowerCase()))].filter(
    (c) => iconv.encodingExists(c) && !/^(utf-?8|us-ascii)$/.test(c),
  );
  const multibyte = declared.find((c) => MULTIBYTE.test(c) && !iconv.decode(head, c).includes('\ufffd'));
  if (multibyte) return { charset: multibyte, how: 'declared' };
  const detected = detectCjk(eightBitRuns(head));
  if (detected) return { charset: detected, how: 'detected' };
  return declared[0] ? { charset: declared[0], how: 'declared elsewhere in the message' } : { charset: 'windows-1252', how: 'assumed' };
}

/**
 * The values of the header lines that hold 8-bit bytes: what a detector should judge (the
 * other lines only dilute it). Whole values, as a multi-byte character's second byte may be
 * ASCII (Shift_JIS "ツ" is 0x83 0x63).
 */
function eightBitRuns(bytes: Buffer): Buffer {
  const lines = bytes.toString('latin1').split(/\r?\n/).filter((l) => /[\x80-\xff]/.test(l));
  return Buffer.from(lines.map((l) => l.replace(/^[\x21-\x39\x3b-\x7e]+:\s*/, '')).join(' '), 'latin1');
}



/** The bytes an encoded-word carries: base64 (B) or its own quoted-printable, `_` a space (Q, RFC 2047 4.2). */
function encodedWordBytes(enc: string, data: string): Buffer {
  if (enc.toUpperCase() === 'B') return Buffer.from(data, 'base64');
  return libqp.decode(Buffer.from(data.replace(/_/g, ' '), 'latin1'));
}


/**
 * Re-encodes, as UTF-8, the encoded-words whose bytes are not in the charset they name (8-bit
 * bytes in a 7-bit charset, or bytes that do not decode in it) when a CJK charset is detected
 * for them; notes each in `guessed`. Null when no word needed it.
 */
function fixEncodedWords(head: string, guessed: string[]): string | null {
  let changed = false;
  const out = head.replace(/=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=/g, (word, charset: string, enc: string, data: string) => {
    const bytes = encodedWordBytes(enc, data);
    const fits = iconv.encodingExists(charset) && !(SEVEN_BIT.test(charset) && bytes.some((b) => b >= 0x80)) && !iconv.decode(bytes, charset).includes('\ufffd');
    if (fits) return word;
    const detected = detectCjk(bytes);
    if (!detected) return word;
    changed = true;
    guessed.push(`encoded-word said ${charset}, read as ${detected} (detected)`);
    return `=?UTF-8?B?${Buffer.from(iconv.decode(bytes, detected), 'utf8').toString('base64')}?=`;
  });
  return changed ? out : null;
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

export function firstMessageId(value: string | string[] | undefined): string | null {
  return messageIdList(value)[0] ?? null;
}

export function headerValue(line: string): string {
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
