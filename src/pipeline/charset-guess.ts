import iconv from 'iconv-lite';
import jschardet from 'jschardet';
import libmime from 'libmime';
import { Joiner, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Guessing the charset of text whose charset is missing or wrong: undeclared 8-bit header
 * bytes, encoded-words, file names and body parts. Every guess is reported to the caller,
 * which records it on the message.
 */

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function isUtf8(bytes: Buffer): boolean {
  try {
    UTF8.decode(bytes);
    return true;
  } catch {
    // A window may cut a multi-byte character at its end; that alone does not count.
    try {
      UTF8.decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
      return bytes.length > 262140;
    } catch {
      return false;
    }
  }
}

export const MULTIBYTE = /^(gb2312|gbk|gb18030|big5|big5-hkscs|shift[_-]jis|sjis|euc-jp|euc-kr|ks_c_5601-1987|cp949|cp936|windows-31j)$/i;

/** Charsets whose text is 7-bit: a byte of 0x80 or more in one is a lie about the charset. */
export const SEVEN_BIT = /^iso-2022-(jp|kr|cn)(-\d+)?$/i;

const CJK_TEXT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * The CJK multi-byte charset (Shift_JIS/CP932, EUC-JP, GB18030, Big5, EUC-KR/CP949) that
 * jschardet finds in undeclared or mislabelled bytes, when they decode in it without errors
 * and into CJK text; null otherwise (single-byte text is left to the declared charset or
 * windows-1252). jschardet over chardet: on short header-like CJK strings it named the right
 * family for 9 of 9 (chardet 2 of 9, test/unit/charset-detect.test.ts keeps the samples);
 * its single-byte guesses are poor, so they are never taken.
 */
export function detectCjk(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  const { encoding } = jschardet.detect(bytes.toString('latin1'));
  const charset = encoding?.toLowerCase() ?? '';
  if (!/^(shift_jis|cp932|euc-jp|gb18030|gb2312|big5|euc-kr|cp949|iso-2022-jp)$/.test(charset) || !iconv.encodingExists(charset)) return null;
  const text = iconv.decode(bytes, charset);
  return !text.includes('\ufffd') && CJK_TEXT.test(text) ? charset : null;
}

/**
 * What a body part without a charset, or with UTF-8/ASCII, is marked with before it is parsed
 * again (markUndeclaredTextParts): `x-helpdesk-none`, `x-helpdesk-utf-8`.
 */
const MARK = /^x-helpdesk-(.+)$/;

/**
 * A body part's text, when its declared charset cannot be right: no charset (or UTF-8/ASCII)
 * on bytes that are not UTF-8; 8-bit bytes under a 7-bit charset (ISO-2022-JP holding
 * Shift_JIS); bytes that do not decode in the charset named; CJK bytes under a single-byte
 * charset (GBK labelled ISO-8859-1). Null when the declared charset should be used as it is.
 */
export function repairedPartText(bytes: Buffer, declared: string, guessed: string[]): string | null {
  const marked = MARK.exec(declared.toLowerCase())?.[1];
  const name = marked ?? declared.toLowerCase();
  if (marked !== undefined || /^(utf-?8|(us-)?ascii)$/.test(name)) {
    if (isUtf8(bytes)) return bytes.toString('utf8');
    const what = `body part ${name === 'none' ? 'without a charset' : `said ${name}`}`;
    const cjk = detectCjk(bytes);
    if (cjk) {
      guessed.push(`${what}, read as ${cjk} (detected)`);
      return iconv.decode(bytes, cjk);
    }
    const { text, utf8Sequences, strays } = utf8ElseWindows1252(bytes);
    guessed.push(utf8Sequences > 0 ? `${what}, read as utf-8 with ${strays} stray byte(s) as windows-1252 (assumed)` : `${what}, read as windows-1252 (assumed)`);
    return text;
  }
  const eightBit = bytes.some((b) => b >= 0x80);
  if (!eightBit) return null;
  const normal = libmime.normalizeCharset(name).toLowerCase();
  const known = iconv.encodingExists(normal) && !SEVEN_BIT.test(normal);
  const asDeclared = known ? iconv.decode(bytes, normal) : null;
  const suspect =
    SEVEN_BIT.test(normal) ||
    (asDeclared !== null && asDeclared.includes('\ufffd')) ||
    // A single-byte charset always decodes; CJK text shows as most bytes being 8-bit, which
    // Latin text never is (its accented letters are a few percent).
    (asDeclared !== null && !MULTIBYTE.test(normal) && !/^utf-/.test(normal) && highShare(bytes) >= 0.3);
  if (!suspect) return asDeclared;
  const cjk = detectCjk(bytes);
  if (!cjk) return asDeclared;
  guessed.push(`body part said ${declared}, read as ${cjk} (detected)`);
  return iconv.decode(bytes, cjk);
}

/**
 * Valid UTF-8 sequences as UTF-8 and every other byte as windows-1252: a UTF-8 text with a
 * few Latin-1 bytes pasted in keeps its accents, and Latin-1 text (no valid sequences) reads
 * as Latin-1. U+FFFD for every bad byte, as a UTF-8 decoder gives, would lose both.
 */
function utf8ElseWindows1252(bytes: Buffer): { text: string; utf8Sequences: number; strays: number } {
  let text = '';
  let utf8Sequences = 0;
  let strays = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      let j = i;
      while (j < bytes.length && bytes[j] < 0x80) j++;
      text += bytes.toString('latin1', i, j);
      i = j;
      continue;
    }
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        text += UTF8.decode(bytes.subarray(i, i + len));
        utf8Sequences++;
        i += len;
        continue;
      } catch {
        // not a valid sequence: a stray byte, below
      }
    }
    text += iconv.decode(bytes.subarray(i, i + 1), 'windows-1252');
    strays++;
    i++;
  }
  return { text, utf8Sequences, strays };
}

/** The share of non-space bytes that are 8-bit. */
function highShare(bytes: Buffer): number {
  let high = 0;
  let all = 0;
  for (const b of bytes) {
    if (b <= 0x20) continue;
    all++;
    if (b >= 0x80) high++;
  }
  return all === 0 ? 0 : high / all;
}

/**
 * The class mailparser's `Iconv` option takes (constructed with a charset, a stream of UTF-8
 * out): each text part is read whole, repaired where repairedPartText says so, else decoded
 * by libmime as mailparser would. Guesses go into `guessed`.
 */
export function partCharsetDecoder(guessed: string[]): new (charset: string) => Transform {
  return class PartCharsetDecoder extends Transform {
    private readonly chunks: Buffer[] = [];

    constructor(private readonly charset: string) {
      super();
    }

    override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
      this.chunks.push(chunk);
      done();
    }

    override _flush(done: TransformCallback): void {
      const bytes = Buffer.concat(this.chunks);
      const repaired = repairedPartText(bytes, this.charset, guessed);
      if (repaired !== null) {
        this.push(Buffer.from(repaired, 'utf8'));
        done();
        return;
      }
      const decoder = libmime.createDecodeStream(this.charset);
      decoder.on('data', (chunk: Buffer) => this.push(chunk));
      decoder.once('end', () => done());
      decoder.once('error', (err: Error) => done(err));
      decoder.end(bytes);
    }
  };
}

/**
 * The message with every body text part that names no charset (or UTF-8/ASCII) marked
 * with a charset of ours (`x-helpdesk-none`), so that mailparser hands its bytes to partCharsetDecoder (it reads such
 * parts as UTF-8 itself, and turns other bytes into U+FFFD). Split and joined by mailsplit,
 * the MIME splitter mailparser is built on; every other byte is kept.
 */
export async function markUndeclaredTextParts(bytes: Buffer): Promise<Buffer> {
  const splitter = new Splitter();
  const mark = new Transform({
    objectMode: true,
    transform(chunk: SplitterChunk, _encoding, done) {
      if (chunk.type === 'node' && !chunk.multipart && /^text\/(plain|html)$/.test(chunk.contentType || 'text/plain') && chunk.disposition !== 'attachment') {
        const charset = (chunk.charset || '').toLowerCase();
        if (!charset || /^(utf-?8|(us-)?ascii)$/.test(charset)) chunk.setCharset(`x-helpdesk-${charset || 'none'}`);
      }
      done(null, chunk);
    },
  });
  const out: Buffer[] = [];
  await pipeline(Readable.from([bytes]), splitter, mark, new Joiner(), new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk), done()) }));
  return Buffer.concat(out);
}
