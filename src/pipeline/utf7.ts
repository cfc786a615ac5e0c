import iconv from 'iconv-lite';
import libqp from 'libqp';

/**
 * mailparser (through libmime) refuses to decode UTF-7 because `+ADw-script+AD4-` decodes to
 * `<script>` and could slip markup past a filter that runs before decoding. We sanitise html
 * after decoding and escape everything we render, so that risk does not apply to us, while
 * UTF-7 mail still arrives (old Exchange bounces, Outlook 2000). This rewrites UTF-7
 * encoded-words and UTF-7 body parts of a raw message to UTF-8 before it is parsed.
 */
const UTF7_LABEL = /^(?:(?:cs)?unicode-?1-?1-?)?utf-?7$/i;

export function utf7ToUtf8(raw: Buffer): Buffer {
  const probe = raw.toString('latin1');
  if (!/utf-?7/i.test(probe)) return raw;
  let text = probe.replace(/=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g, (word, charset: string, enc: string, data: string) => {
    if (!UTF7_LABEL.test(charset)) return word;
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : decodeQ(data);
    return `=?UTF-8?B?${Buffer.from(iconv.decode(bytes, 'utf-7'), 'utf8').toString('base64')}?=`;
  });
  text = rewriteUtf7Parts(text);
  return Buffer.from(text, 'latin1');
}

function decodeQ(data: string): Buffer {
  return Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
}

/** Each MIME header block declaring charset=utf-7 gets its body converted and relabelled. */
function rewriteUtf7Parts(text: string): string {
  const label = /charset\s*=\s*"?((?:(?:cs)?unicode-?1-?1-?)?utf-?7)"?/gi;
  let out = '';
  let cursor = 0;
  for (let m = label.exec(text); m; m = label.exec(text)) {
    if (m.index < cursor) continue;
    const headStart = Math.max(text.lastIndexOf('\n\n', m.index), text.lastIndexOf('\n\r\n', m.index), 0);
    const sep = /\r?\n\r?\n/g;
    sep.lastIndex = m.index;
    const headEnd = sep.exec(text);
    if (!headEnd || headStart < cursor) continue;
    const bodyStart = headEnd.index + headEnd[0].length;
    const next = /\r?\n--[^\r\n]*/g;
    next.lastIndex = bodyStart;
    const boundary = next.exec(text);
    const bodyEnd = boundary ? boundary.index : text.length;
    const head = text.slice(headStart, headEnd.index);
    const cte = /content-transfer-encoding\s*:\s*([\w-]+)/i.exec(head)?.[1]?.toLowerCase() ?? '7bit';
    const body = text.slice(bodyStart, bodyEnd);
    const bytes = cte === 'base64' ? Buffer.from(body, 'base64') : cte === 'quoted-printable' ? libqp.decode(Buffer.from(body, 'latin1')) : Buffer.from(body, 'latin1');
    const utf8 = Buffer.from(iconv.decode(bytes, 'utf-7'), 'utf8');
    const newHead = head
      .replace(/charset\s*=\s*"?((?:(?:cs)?unicode-?1-?1-?)?utf-?7)"?/i, 'charset="utf-8"')
      .replace(/content-transfer-encoding\s*:\s*[\w-]+/i, 'Content-Transfer-Encoding: base64');
    const headWithCte = /content-transfer-encoding/i.test(newHead) ? newHead : `${newHead}\r\nContent-Transfer-Encoding: base64`;
    const encoded = (utf8.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
    out += text.slice(cursor, headStart) + headWithCte + headEnd[0] + encoded;
    cursor = bodyEnd;
    label.lastIndex = bodyEnd;
  }
  return out + text.slice(cursor);
}
