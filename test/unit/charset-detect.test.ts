import iconv from 'iconv-lite';
import { detectCjk } from '../../src/pipeline/charset-guess';

/*
 * Short header-like strings, as subjects and file names are. The CJK ones must be read in
 * their own family; the Latin ones must be left alone (detectCjk says nothing), since a
 * single-byte charset decodes any bytes and the declared one or windows-1252 decides there.
 * The same samples chose jschardet over chardet (chardet named the right family for 2 of 9).
 */
const CJK: Array<[string, string, RegExp]> = [
  ['shift_jis', 'ツール', /^(shift_jis|cp932)$/],
  ['shift_jis', '会議の資料について', /^(shift_jis|cp932)$/],
  ['shift_jis', 'お問い合わせ：請求書の件', /^(shift_jis|cp932)$/],
  ['euc-jp', '会議の資料について', /^euc-jp$/],
  ['gbk', '绩效管理,究竟谁错了.xls', /^(gb18030|gb2312)$/],
  ['gbk', '发票问题', /^(gb18030|gb2312)$/],
  ['gb2312', '关于合同的问题', /^(gb18030|gb2312)$/],
  ['big5', '發票問題請回覆', /^big5$/],
  ['euc-kr', '송장 문의드립니다', /^(euc-kr|cp949)$/],
];
const LATIN: Array<[string, string]> = [
  ['windows-1252', 'Müller'],
  ['windows-1252', 'Café crème'],
  ['windows-1252', 'Réunion à Genève'],
  ['iso-8859-1', 'Grüße aus Köln'],
  ['windows-1252', 'señor Núñez'],
  ['windows-1252', 'Presupuesto año 2026.pdf'],
];

describe('detectCjk', () => {
  it.each(CJK)('reads %s "%s" in its own family, and the text back', (charset, text, family) => {
    const bytes = iconv.encode(text, charset);
    const found = detectCjk(bytes);
    expect(found).toMatch(family);
    expect(iconv.decode(bytes, found as string)).toBe(text);
  });
  it.each(LATIN)('leaves %s "%s" to the declared charset', (charset, text) => {
    expect(detectCjk(iconv.encode(text, charset))).toBeNull();
  });
});
