import { decodeHTML } from 'entities';
import libmime from 'libmime';
import { decode as decodeCharset } from 'libmime/lib/charset';
import addressparser from 'nodemailer/lib/addressparser';
import libqp from 'libqp';
import { assertMail, firstMessageId, guessType, headerValue, mimeReady } from '../pipeline/stages/parse';
import { extractUuencoded } from '../pipeline/uuencode';
import type { Header, MailAddress } from '../pipeline/types';
import { markupTokens } from './markup';
import type { SpamInput } from './tokenize';

/**
 * What the spam tokenizer reads of a raw message, taken straight from the bytes: headers,
 * the decoded text and html parts, the types of all other parts. It skips what the full
 * parse (stages/parse.ts) does for tickets — html sanitising, attachment contents and
 * hashes, streams — so training and classifying files run several times faster. Html-only
 * mail is read as its text with the tags stripped, which gives the same words as the full
 * parse's html-to-text (test/unit/spam-input.test.ts compares both on the corpus).
 * Throws, like parseMail, when the bytes are not an email message.
 */
export function spamInput(bytes: Buffer): SpamInput {
  const { headers, body } = splitPart(mimeReady(bytes));
  assertMail(headers);
  const parts: Parts = { bodies: [], attachments: [] };
  walk(headers, body, 0, false, parts);
  const value = (name: string) => fieldOf(headers, name);
  const addresses = (name: string) => addressesOf(value(name));
  const { text, html } = bodyOf(parts.bodies);
  const uu = extractUuencoded(text);
  const date = value('date');
  return {
    subject: libmime.decodeWords(value('subject') ?? '').replace(/\s+/g, ' ').trim(),
    // As parseMail: the text; from the html (links left out) when there is no text at all.
    text: uu.text.trim() !== '' || html === null ? uu.text : htmlText(html, false),
    html,
    markup: markupTokens(html),
    from: addresses('from')[0] ?? addresses('sender')[0] ?? addresses('reply-to')[0] ?? null,
    replyTo: addresses('reply-to'),
    headers,
    date: date && !Number.isNaN(Date.parse(date)) ? new Date(date) : null,
    messageIdSynthetic: firstMessageId(value('message-id')) === null,
    attachments: [...parts.attachments, ...uu.files.map((f) => guessType(f.name))].map((contentType) => ({ contentType })),
  };
}

const META_FIELDS = ['From', 'Subject', 'Date', 'To', 'Cc', 'Bcc'];

interface BodyPart {
  /** `meta`: the header lines of a forwarded message, part of the text when the message has text. */
  type: 'text' | 'html' | 'meta';
  content: string;
  /** Inside a multipart/alternative. */
  alternative: boolean;
  root: boolean;
}

interface Parts {
  bodies: BodyPart[];
  attachments: string[];
}

const MAX_DEPTH = 20;

/** Collects the text and html parts of a MIME entity and the types of everything else. */
function walk(headers: Header[], body: Buffer, depth: number, alternative: boolean, out: Parts, defaultType = 'text/plain') {
  const header = (name: string) => fieldOf(headers, name);
  const type = libmime.parseHeaderValue(header('content-type') ?? defaultType);
  const contentType = type.value.toLowerCase() || defaultType;
  const boundary = type.params.boundary;
  if (contentType.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const childType = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    const children = splitMultipart(body, boundary);
    // A multipart whose boundary never appears (broken MIME) is read as text, as the full parse does.
    if (children.length === 0) out.bodies.push({ type: 'text', content: body.toString('utf8'), alternative, root: false });
    for (const child of children) {
      const part = splitPart(child);
      walk(part.headers, part.body, depth + 1, alternative || contentType === 'multipart/alternative', out, childType);
    }
    return;
  }
  const disposition = libmime.parseHeaderValue(header('content-disposition') ?? '');
  const dispositionType = disposition.value.toLowerCase();
  const encoding = (header('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (contentType === 'message/rfc822' && dispositionType === 'inline' && ['', '7bit', '8bit', 'binary'].includes(encoding) && depth < MAX_DEPTH) {
    // A forwarded message marked inline is read as part of the text, its From/Subject/Date/To/Cc
    // first (as mailparser does); any other is an attachment.
    const inner = splitPart(body);
    const meta = META_FIELDS.map((name) => [name, fieldOf(inner.headers, name.toLowerCase())] as const).filter(([, v]) => v);
    out.bodies.push({ type: 'meta', content: `\n${meta.map(([name, v]) => `${name}: ${libmime.decodeWords(v ?? '')}`).join('\n')}\n`, alternative, root: false });
    walk(inner.headers, inner.body, depth + 1, alternative, out);
    return;
  }
  // mailparser reads a delivery report (message/delivery-status) as text, so the full parse does too.
  // So is a multipart without a boundary to split it at.
  const kind = contentType === 'text/html' ? 'html' : contentType === 'text/plain' || contentType === 'message/delivery-status' || contentType.startsWith('multipart/') ? 'text' : null;
  if (kind === null || dispositionType === 'attachment') {
    const filename = disposition.params.filename ?? type.params.name;
    out.attachments.push(contentType === 'application/octet-stream' && filename ? libmime.detectMimeType(filename) || contentType : contentType);
    return;
  }
  const content = decodeCharset(transferDecoded(body, encoding), type.params.charset ?? 'utf-8');
  out.bodies.push({ type: kind, content, alternative, root: depth === 0 });
}

/**
 * The text and html of the body parts, combined as mailparser does: text parts in order; an
 * html part outside an alternative is also read as text (with its links) when the message
 * has text parts, or when it is the whole message.
 */
function bodyOf(bodies: BodyPart[]): { text: string; html: string | null } {
  const hasText = bodies.some((b) => b.type === 'text');
  const text: string[] = [];
  const html: string[] = [];
  for (const b of bodies) {
    if (b.type === 'text') text.push(b.content);
    else if (b.type === 'meta') {
      if (hasText) text.push(b.content);
    } else {
      if ((!b.alternative && hasText) || (b.root && !hasText)) text.push(htmlText(b.content, true));
      html.push(b.content);
    }
  }
  return { text: text.join('\n'), html: html.length > 0 ? html.join('\n') : null };
}

/** The value of the first field of that (lower-case) name. */
function fieldOf(headers: Header[], name: string): string | undefined {
  return headers.find((h) => h.name === name)?.value;
}

/** Header fields (lower-case names, unfolded values, as InboundMail.headers) and the body. */
function splitPart(entity: Buffer): { headers: Header[]; body: Buffer } {
  const window = entity.subarray(0, 262144).toString('latin1');
  // A part may have no header fields at all: its body starts right after the blank line.
  const end = /^\r?\n|\r?\n\r?\n/.exec(window);
  const headEnd = end ? end.index : /^[\x21-\x39\x3b-\x7e]+:/.test(window) ? window.length : 0;
  const head = entity.subarray(0, headEnd).toString('utf8');
  const headers: Header[] = [];
  for (const line of head.split(/\r?\n(?![ \t])/)) {
    const name = /^([^\s:]+)[ \t]*:/.exec(line);
    const previous = headers[headers.length - 1];
    // A line that is no field (a fold that lost its indent: `boundary=...`) continues the one before.
    if (!name && previous) previous.value = `${previous.value} ${line.trim()}`;
    else if (name) headers.push({ name: name[1].toLowerCase(), value: headerValue(line) });
  }
  return { headers, body: end ? entity.subarray(end.index + end[0].length) : entity.subarray(headEnd) };
}

/**
 * The parts between `--boundary` lines, up to the closing `--boundary--` (or the end, for a
 * message cut off). A delimiter line holds the boundary and nothing but white space after it,
 * so `--b1` does not end a part at a nested `--b1-inner` line.
 */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  /** The next delimiter line at or after `from`: where the part before it ends, whether it closes, where the next part starts. */
  const next = (from: number): { partEnd: number; close: boolean; start: number } | null => {
    for (let search = from; ; ) {
      const lineStart = search === 0 && text.startsWith(delimiter) ? 0 : text.indexOf(`\n${delimiter}`, search) + 1;
      if (lineStart === 0 && !(search === 0 && text.startsWith(delimiter))) return null;
      const after = lineStart + delimiter.length;
      const eol = text.indexOf('\n', after);
      const close = text.startsWith('--', after);
      if (close || /^[ \t\r]*$/.test(text.slice(after, eol === -1 ? text.length : eol))) {
        const partEnd = lineStart === 0 ? 0 : text[lineStart - 2] === '\r' ? lineStart - 2 : lineStart - 1;
        return { partEnd, close, start: eol === -1 ? text.length : eol + 1 };
      }
      search = after;
    }
  };
  const parts: Buffer[] = [];
  let delimiterLine = next(0);
  while (delimiterLine && !delimiterLine.close) {
    const start = delimiterLine.start;
    // The line break before the next delimiter belongs to it, so an empty part ends at start - 1.
    delimiterLine = next(Math.max(0, start - 1));
    parts.push(body.subarray(start, delimiterLine ? Math.max(start, delimiterLine.partEnd) : text.length));
  }
  return parts;
}

function transferDecoded(body: Buffer, encoding: string): Buffer {
  switch (encoding) {
    case 'base64':
      return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return libqp.decode(body);
    default:
      return body;
  }
}

function addressesOf(value: string | undefined): MailAddress[] {
  if (!value) return [];
  const out: MailAddress[] = [];
  const visit = (entries: ReturnType<typeof addressparser>) => {
    for (const e of entries) {
      if ('group' in e && e.group) visit(e.group);
      else if ('address' in e && e.address) out.push({ address: e.address.trim().toLowerCase(), name: libmime.decodeWords(e.name ?? '').trim() });
    }
  };
  visit(addressparser(value));
  return out;
}

// Tags html-to-text ends a line at (by default it runs table cells and options together).
const BLOCK_TAG = /^<\/?(?:br|p|div|li|ul|ol|h[1-6]|hr|blockquote|pre|dd|dt|dl)\b/i;
const LINK = /<(?:a\b[^>]*?\bhref|img\b[^>]*?\bsrc)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;

/** Html beyond this is not read for its text (the tokenizer reads 50,000 characters of it). */
const MAX_HTML_TEXT = 1024 * 1024;
/** Elements whose content the page does not show. */
const HIDDEN = /<!--|<(script|style|head)\b/g;

/**
 * The text of an html body: what the page shows, without head, scripts, styles and comments;
 * with `links`, also the targets of links and images (as mailparser's html-to-text shows them).
 * One pass, left to right, with no backtracking: html in mail is hostile input (an unclosed
 * `<!--` or `<` repeated thousands of times must not cost quadratic time).
 */
export function htmlText(html: string, links: boolean): string {
  const lower = html.slice(0, MAX_HTML_TEXT).toLowerCase();
  const bodyTag = lower.indexOf('<body');
  const bodyStart = bodyTag === -1 ? 0 : lower.indexOf('>', bodyTag) + 1 || lower.length;
  const bodyEnd = lower.indexOf('</body', bodyStart);
  const visible = withoutHidden(lower, html, bodyStart, bodyEnd === -1 ? lower.length : bodyEnd);
  let out = '';
  let at = 0;
  for (let open = visible.indexOf('<'); open !== -1; open = visible.indexOf('<', at)) {
    const close = visible.indexOf('>', open);
    if (close === -1) break; // a lone `<` and all after it is text
    out += visible.slice(at, open);
    const tag = visible.slice(open, close + 1);
    out += BLOCK_TAG.test(tag) ? '\n' : links ? linkOf(tag) : '';
    at = close + 1;
  }
  out += visible.slice(at);
  return decodeHTML(out).replace(/[ \t\u00a0]+/g, ' ').trim();
}

/** html[from, to) without comments and script, style and head elements (found in `lower`, its lower-case copy). */
function withoutHidden(lower: string, html: string, from: number, to: number): string {
  let out = '';
  let at = from;
  HIDDEN.lastIndex = from;
  for (let m = HIDDEN.exec(lower); m !== null && m.index < to; m = HIDDEN.exec(lower)) {
    const end = m[1] ? lower.indexOf(`</${m[1]}`, HIDDEN.lastIndex) : lower.indexOf('-->', HIDDEN.lastIndex);
    // An unclosed <head> is only a tag (senders put one anywhere); an unclosed comment, script or style hides the rest.
    if (end === -1 && m[1] === 'head') continue;
    out += html.slice(at, m.index);
    if (end === -1) return out;
    at = m[1] ? lower.indexOf('>', end) + 1 || to : end + 3;
    // A comment splits no word (`Opr<!--x-->ah!` is what the reader sees as Oprah!); an element may.
    if (m[1]) out += ' ';
    HIDDEN.lastIndex = at;
  }
  return out + html.slice(at, Math.max(at, to));
}

function linkOf(tag: string): string {
  if (tag.length > 4096) return '';
  LINK.lastIndex = 0;
  const m = LINK.exec(tag);
  const target = m ? (m[1] ?? m[2] ?? m[3]).replace(/^mailto:/, '') : '';
  return target && !target.startsWith('#') ? ` ${target} ` : '';
}
