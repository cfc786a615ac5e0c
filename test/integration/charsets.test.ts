import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../../src/pipeline/stages/parse';
import { baseSubject } from '../../src/pipeline/reply-subject';
import { MAIL_CORPUS } from '../helpers/corpus';
import { openTestDesk, removeTempDirs } from '../helpers/env';

afterAll(() => removeTempDirs());

/** A single-part message whose body is `text` encoded in `charset` (transfer-encoded as asked). */
/** iconv-lite has no ISO-2022-JP encoder; encoding-japanese (mailparser's own dependency) has. */
function encode(text: string, charset: string): Buffer {
  if (charset.toUpperCase() === 'ISO-2022-JP') return Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' }));
  return iconv.encode(text, charset);
}

function encodedMail(opts: { charset: string; text: string; subject?: string; type?: string; cte?: 'base64' | '8bit' | 'quoted-printable' }): Buffer {
  const body = encode(opts.text, opts.charset);
  const cte = opts.cte ?? 'base64';
  const encodedBody = cte === 'base64' ? Buffer.from(body.toString('base64').replace(/.{76}/g, '$&\r\n')) : body;
  const head = [
    'From: sender@customer.test',
    'To: support@example.test',
    `Subject: ${opts.subject ?? 'charset test'}`,
    'Message-ID: <' + Math.random().toString(36).slice(2) + '@customer.test>',
    'MIME-Version: 1.0',
    `Content-Type: ${opts.type ?? 'text/plain'}; charset="${opts.charset}"`,
    `Content-Transfer-Encoding: ${cte}`,
  ].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`), encodedBody, Buffer.from('\r\n')]);
}

/** An RFC 2047 encoded-word of `text` in `charset`. */
const word = (charset: string, text: string) => `=?${charset}?B?${encode(text, charset).toString('base64')}?=`;

describe('charsets and encodings decode to the right Unicode', () => {
  const cases: [string, string, string][] = [
    ['ISO-2022-JP', 'プリンターが動きません。至急対応をお願いします。', '印刷できない'],
    ['Shift_JIS', '請求書の金額が間違っています', '請求書について'],
    ['GB2312', '打印机不能工作，请尽快处理。', '打印机故障'],
    ['GBK', '電腦無法開機，請協助處理', '电脑问题'],
    ['KOI8-R', 'Принтер не печатает, помогите пожалуйста.', 'Проблема с принтером'],
    ['windows-1250', 'Dobrý den, tiskárna nefunguje. Děkuji, Łukasz Żółć', 'Tiskárna nefunguje'],
  ];
  it.each(cases)('%s body and subject', async (charset, text, subject) => {
    const m = await parseMail(encodedMail({ charset, text, subject: word(charset, subject) }));
    expect(m.text.trim()).toBe(text);
    expect(m.subject).toBe(subject);
  });

  it('decodes a Windows-1252 html-only message into text and sanitised html', async () => {
    const html = '<html><body><p>Caf\u00e9 \u201cno funciona\u201d \u2013 \u20ac 30</p><script>alert(1)</script></body></html>';
    const m = await parseMail(encodedMail({ charset: 'windows-1252', text: html, type: 'text/html', cte: '8bit' }));
    expect(m.text).toBe('Café “no funciona” – € 30');
    expect(m.html).toContain('<p>Café “no funciona” – € 30</p>');
    expect(m.html).not.toContain('script');
  });

  it('decodes UTF-7 bodies and encoded-word subjects (which mailparser refuses)', async () => {
    const m = await parseMail(encodedMail({ charset: 'utf-7', text: 'Die Hasen und die Frösche', subject: '=?utf-7?Q?Fr+APY-sche?=', cte: '8bit' }));
    expect(m.text.trim()).toBe('Die Hasen und die Frösche');
    expect(m.subject).toBe('Frösche');
    const corpus = await parseMail(readFileSync(path.join(MAIL_CORPUS, 'alaveteli/utf-7-subject.eml')));
    expect(corpus.subject).toBe('Vaše emailová zpráva byla převzata');
  });

  it('decodes RFC 2231 continued and RFC 2047 encoded attachment file names', async () => {
    const raw = [
      'From: a@customer.test',
      'To: support@example.test',
      'Subject: =?UTF-8?Q?Factura_n=C2=BA_7?=',
      'Message-ID: <names@customer.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="XX"',
      '',
      '--XX',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'see attached',
      '--XX',
      'Content-Type: application/pdf',
      "Content-Disposition: attachment; filename*0*=UTF-8''%E8%AB%8B%E6%B1%82; filename*1*=%E6%9B%B8.pdf",
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('%PDF-1.4 fake').toString('base64'),
      '--XX',
      'Content-Type: text/plain; name="=?ISO-8859-1?Q?r=E9sum=E9=2Etxt?="',
      'Content-Disposition: attachment; filename="=?ISO-8859-1?Q?r=E9sum=E9=2Etxt?="',
      '',
      'cv',
      '--XX--',
      '',
    ].join('\r\n');
    const m = await parseMail(Buffer.from(raw));
    expect(m.subject).toBe('Factura nº 7');
    expect(m.attachments.map((a) => a.filename)).toEqual(['請求書.pdf', 'résumé.txt']);
  });

  it('reads ISO-2022-JP mail from another project’s fixtures', async () => {
    const jp = await parseMail(readFileSync(path.join(MAIL_CORPUS, 'mikel-mail/multi_charset/japanese_iso_2022.eml')));
    expect(jp.subject).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(jp.text).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]/);
    expect(jp.text).not.toContain('\ufffd');
  });

  it('keeps a message with an unknown charset, with its best-effort text, not quarantined', async () => {
    const desk = openTestDesk();
    const raw = Buffer.from('From: a@customer.test\r\nTo: support@example.test\r\nSubject: odd\r\nMessage-ID: <odd@x.test>\r\nContent-Type: text/plain; charset="x-no-such-charset"\r\n\r\nHello there, plain ASCII survives.\r\n');
    const r = await desk.ingest(raw);
    expect(r.outcome).toBe('created');
    expect((await desk.view.showTicket(r.ticket as string))?.messages[0].text).toContain('Hello there, plain ASCII survives.');
    desk.close();
  });

  it('makes a ticket, on either store, of a mail whose encoded-words and html entities decode to lone UTF-16 surrogates (kept as U+FFFD)', async () => {
    // PostgreSQL's jsonb refuses a lone surrogate: this mail was quarantined there ("apply:
    // invalid input syntax for type json") while SQLite made a ticket of it.
    const desk = openTestDesk();
    const raw = [
      'From: =?utf-16be?B?2AA=?= <carla@customer.test>',
      'To: support@example.test',
      'Subject: =?utf-16be?B?2ADYAA==?= invoice',
      'Message-ID: <surrogates@customer.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="X"',
      '',
      '--X',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>a &#xD800; b &#xDFFF; c \u{1F600}</p>',
      '--X',
      'Content-Type: application/octet-stream',
      "Content-Disposition: attachment; filename*=utf-16be''%D8%00.bin",
      'Content-Transfer-Encoding: base64',
      '',
      'AAAA',
      '--X--',
      '',
    ].join('\r\n');
    const r = await desk.ingest(Buffer.from(raw));
    expect(r.outcome).toBe('created');
    const t = await desk.view.showTicket(r.ticket as string);
    expect(t?.subject).toBe('\ufffd\ufffd invoice');
    expect(t?.messages[0]).toMatchObject({ fromName: '\ufffd', text: 'a \ufffd b \ufffd c \u{1F600}' });
    expect(t?.messages[0].attachments.map((a) => a.filename)).toEqual([expect.stringMatching(/^\ufffd/)]);
    desk.close();
  });

  it('decodes raw 8-bit header bytes with the charset the body declares', async () => {
    const subject = iconv.encode('转发：整体提升企业服务水平', 'gb2312');
    const head = Buffer.from('From: a@customer.test\r\nTo: support@example.test\r\nSubject: ');
    const rest = Buffer.from('\r\nMessage-ID: <8bit@x.test>\r\nContent-Type: text/plain; charset=gb2312\r\n\r\nbody\r\n');
    const m = await parseMail(Buffer.concat([head, subject, rest]));
    expect(m.subject).toBe('转发：整体提升企业服务水平');
  });
});

describe('undeclared and mislabelled CJK bytes are detected, and the guess is recorded (issue #24)', () => {
  const assumed = (m: { headers: Array<{ name: string; value: string }> }) => m.headers.filter((h) => h.name === 'x-helpdesk-assumed').map((h) => h.value);
  const gbkName = iconv.encode('绩效管理,究竟谁错了.xls', 'gbk');

  it('reads a raw Shift_JIS subject with no charset anywhere, and a raw GBK file name', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: Tanaka <tanaka@example.jp>\r\nTo: support@example.test\r\nSubject: '),
      iconv.encode('ツール', 'shift_jis'),
      Buffer.from('\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\nContent-Type: application/vnd.ms-excel; name="'),
      gbkName,
      Buffer.from('"\r\nContent-Disposition: attachment; filename="'),
      gbkName,
      Buffer.from('"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--B--\r\n'),
    ]);
    const m = await parseMail(raw);
    expect(m.subject).toBe('ツール');
    expect(m.attachments.map((a) => a.filename)).toEqual(['绩效管理,究竟谁错了.xls']);
    expect(assumed(m)).toEqual([expect.stringMatching(/^raw 8-bit header text read as (shift_jis|cp932) \(detected\)$/), expect.stringMatching(/^file name "绩效管理,究竟谁错了\.xls" read as gb18030 \(detected\)$/)]);
  });

  it('reads an encoded-word that says ISO-2022-JP but holds Shift_JIS', async () => {
    const word = `=?ISO-2022-JP?B?${iconv.encode('請求書のツール', 'shift_jis').toString('base64')}?=`;
    const m = await parseMail(Buffer.from(`From: a@example.jp\r\nTo: support@example.test\r\nSubject: ${word}\r\n\r\nhello\r\n`));
    expect(m.subject).toBe('請求書のツール');
    expect(assumed(m)).toEqual([expect.stringMatching(/^encoded-word said ISO-2022-JP, read as (shift_jis|cp932) \(detected\)$/)]);
  });

  it('leaves raw Latin-1 in headers to windows-1252, saying it assumed so', async () => {
    const raw = Buffer.concat([Buffer.from('From: a@example.de\r\nTo: support@example.test\r\nSubject: '), iconv.encode('Grüße aus Köln', 'latin1'), Buffer.from('\r\n\r\nhallo\r\n')]);
    const m = await parseMail(raw);
    expect(m.subject).toBe('Grüße aus Köln');
    expect(assumed(m)).toEqual(['raw 8-bit header text read as windows-1252 (assumed)']);
  });
});

describe('two From fields (issue #24)', () => {
  it('takes the one with a mail address when the first is broken, as Zammad does', async () => {
    const m = await parseMail(Buffer.from('From: =?utf-8?Q?broken?= <<<\r\nFrom: Real Person <real@example.com>\r\nReply-To: other@example.com\r\nTo: support@example.test\r\nSubject: x\r\n\r\nhi\r\n'));
    expect(m.from).toEqual({ address: 'real@example.com', name: 'Real Person' });
  });
});

describe('the subject as sent (issue #24)', () => {
  it('keeps runs of spaces, U+3000 and a trailing space; threading normalises its own copy', async () => {
    const subject = 'ご請求の件　　確認  お願いします ';
    const m = await parseMail(Buffer.from(`From: a@example.jp\r\nTo: support@example.test\r\nSubject: =?UTF-8?B?${Buffer.from(subject).toString('base64')}?=\r\n\r\nhello\r\n`));
    expect(m.subject).toBe(subject);
    expect(baseSubject(`Re: ${m.subject}`, 'HD')).toBe('ご請求の件 確認 お願いします');
  });
});

describe('an 8-bit body without a charset (issue #24)', () => {
  const assumed = (m: { headers: Array<{ name: string; value: string }> }) => m.headers.filter((h) => h.name === 'x-helpdesk-assumed').map((h) => h.value);
  it('is read as the CJK charset detected, with or without a Content-Type', async () => {
    const text = '您好，我们的打印机从昨天开始无法打印，请尽快帮忙处理。谢谢！';
    for (const type of ['Content-Type: text/plain\r\n', '']) {
      const m = await parseMail(Buffer.concat([Buffer.from(`From: li@example.cn\r\nTo: support@example.test\r\nSubject: printer\r\nMIME-Version: 1.0\r\n${type}\r\n`), iconv.encode(text, 'gbk'), Buffer.from('\r\n')]));
      expect(m.text.trim()).toBe(text);
      expect(assumed(m)).toContainEqual(expect.stringMatching(/^body charset (gb18030|gb2312) \(detected\)$/));
    }
  });
  it('is read as windows-1252 when it is not CJK, and says so', async () => {
    const m = await parseMail(Buffer.concat([Buffer.from('From: a@example.de\r\nTo: support@example.test\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\n'), iconv.encode('Grüße, der Drucker druckt nicht.', 'latin1'), Buffer.from('\r\n')]));
    expect(m.text.trim()).toBe('Grüße, der Drucker druckt nicht.');
    expect(assumed(m)).toEqual(['body charset windows-1252 (assumed)']);
  });
});

describe('a text part inside a multipart whose charset is missing or wrong (issue #24)', () => {
  const assumed = (m: { headers: Array<{ name: string; value: string }> }) => m.headers.filter((h) => h.name === 'x-helpdesk-assumed').map((h) => h.value);
  const chinese = '您好，我们的打印机从昨天开始无法打印，请尽快帮忙处理。谢谢！';
  const japanese = 'お世話になっております。請求書の金額が間違っているようです。ご確認ください。';
  /** multipart/alternative: a text part (its Content-Type line and bytes as given) and an ASCII html part. */
  function multipart(typeLine: string, bytes: Buffer, cte: 'base64' | '8bit' = 'base64'): Buffer {
    const body = cte === 'base64' ? bytes.toString('base64').replace(/.{76}/g, '$&\r\n') : bytes.toString('latin1');
    return Buffer.from(
      [
        'From: li@example.cn',
        'To: support@example.test',
        'Subject: printer',
        'Message-ID: <mp@example.cn>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        typeLine,
        `Content-Transfer-Encoding: ${cte}`,
        '',
        body,
        '--b1',
        'Content-Type: application/octet-stream; name="a.bin"',
        'Content-Disposition: attachment; filename="a.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        'AAEC',
        '--b1--',
        '',
      ].join('\r\n'),
      'latin1',
    );
  }

  it('reads a part with no charset as the CJK charset detected (base64 hides the bytes from any header fix)', async () => {
    const m = await parseMail(multipart('Content-Type: text/plain', iconv.encode(chinese, 'gbk')));
    expect(m.text.trim()).toBe(chinese);
    expect(assumed(m)).toContainEqual(expect.stringMatching(/^body part without a charset, read as (gb18030|gb2312) \(detected\)$/));
    expect(m.attachments.map((a) => a.filename)).toEqual(['a.bin']);
  });

  it('reads a part that says UTF-8 but holds Shift_JIS', async () => {
    const m = await parseMail(multipart('Content-Type: text/plain; charset=utf-8', iconv.encode(japanese, 'shift_jis'), '8bit'));
    expect(m.text.trim()).toBe(japanese);
    expect(assumed(m)).toContainEqual(expect.stringMatching(/^body part said utf-8, read as (shift_jis|cp932) \(detected\)$/));
  });

  it('reads GBK labelled ISO-8859-1, and Shift_JIS labelled ISO-2022-JP', async () => {
    const gbk = await parseMail(multipart('Content-Type: text/plain; charset=iso-8859-1', iconv.encode(chinese, 'gbk')));
    expect(gbk.text.trim()).toBe(chinese);
    expect(assumed(gbk)).toContainEqual(expect.stringMatching(/^body part said iso-8859-1, read as (gb18030|gb2312) \(detected\)$/));
    const sjis = await parseMail(multipart('Content-Type: text/plain; charset=ISO-2022-JP', iconv.encode(japanese, 'shift_jis')));
    expect(sjis.text.trim()).toBe(japanese);
  });

  it('leaves Latin text in its declared charset, and reads an undeclared Latin-1 part as windows-1252', async () => {
    const french = 'Bonjour, l’été dernier l’imprimante a cessé de fonctionner. Merci d’avance, Hélène';
    const declared = await parseMail(multipart('Content-Type: text/plain; charset=windows-1252', iconv.encode(french, 'windows-1252')));
    expect(declared.text.trim()).toBe(french);
    expect(assumed(declared)).toEqual([]);
    const undeclared = await parseMail(multipart('Content-Type: text/plain', iconv.encode(french, 'windows-1252')));
    expect(undeclared.text.trim()).toBe(french);
    expect(assumed(undeclared)).toEqual(['body part without a charset, read as windows-1252 (assumed)']);
    // UTF-8 with one Latin-1 byte pasted in: the UTF-8 stays, the stray byte is read as windows-1252.
    const mixed = await parseMail(multipart('Content-Type: text/plain; charset=utf-8', Buffer.concat([Buffer.from('Café, 您好 '), Buffer.from([0xe9]), Buffer.from(' fin')])));
    expect(mixed.text.trim()).toBe('Café, 您好 é fin');
    expect(assumed(mixed)).toEqual(['body part said utf-8, read as utf-8 with 1 stray byte(s) as windows-1252 (assumed)']);
    const utf8 = await parseMail(multipart('Content-Type: text/plain; charset=utf-8', Buffer.from(`${french} ${chinese}`)));
    expect(utf8.text.trim()).toBe(`${french} ${chinese}`);
    expect(assumed(utf8)).toEqual([]);
  });
});

describe('the corpus’s Chinese, Japanese and Korean mail (issue #24)', () => {
  const index = readFileSync(path.join(MAIL_CORPUS, 'CATEGORIES.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
  // Every mail that declares a CJK charset somewhere (CATEGORIES.tsv's third column).
  const cjkMails = index.filter(([, , charsets]) => /iso-2022|shift|sjis|gb|big5|euc-|ks_c|cp9[34]/i.test(charsets ?? '')).map(([file]) => file);
  // Random bytes labelled gb2312 (alaveteli's own test of garbage), and HZ-GB-2312, which no
  // decoder we use knows (kept as the bytes' ASCII, not garbled): nothing to read in either.
  const unreadable = new Set(['alaveteli/no-part-charset-random-data.eml', 'alaveteli/unrecognized-encoding-mail.eml']);

  it('reads every one without replacement characters or Latin-1 mojibake', async () => {
    expect(cjkMails.length).toBeGreaterThan(60);
    const garbled: string[] = [];
    for (const file of cjkMails.filter((f) => !unreadable.has(f))) {
      const m = await parseMail(readFileSync(path.join(MAIL_CORPUS, file)));
      if (/\ufffd|[ÃƒÂ][\u0080-\u00ff]/.test(`${m.subject}\n${m.text}`)) garbled.push(file);
    }
    expect(garbled).toEqual([]);
  });

  // The first sentence of each body, as a reader of the language finds it in the mail.
  const expected: [string, string][] = [
    ['mikel-mail/multi_charset/japanese_iso_2022.eml', 'すみません。'],
    ['mikel-mail/plain_emails/raw_email.eml', '대부분의 마찬가지로, 우리는 하나님을 믿습니다.'],
    ['mimekit/messages/japanese.txt', '日本語が 正常に 送れているか テスト.'],
    ['php-mime-mail-parser/failure.eml', '次の受信者またはグループへの配信に失敗しました:'],
    ['rt/emails/new-ticket-from-gb18030', '测试'],
    ['alaveteli/no-part-charset-bad-utf8.eml', '贵公司负责人(经理/财务)您好：'],
    ['sisimai/bsd/lhost-ezweb-02.eml', '次のあて先へのメッセージはエラーのため送信できませんでした。'],
    ['sisimai/bsd/lhost-mfilter-02.eml', 'このメールは「m-FILTER」が自動的に生成して送信しています。'],
    ['sisimai/bsd/lhost-notes-02.eml', 'ディレクトリのリストにありません'],
    ['zammad/mail091.box', 'このアドレスへのメルマガを解除してください。'],
    ['zammad/mail016.box', '您好，这封信如果影响到您的生活和工作，我们向您诚恳的道歉。'],
  ];
  it.each(expected)('%s', async (file, sentence) => {
    const m = await parseMail(readFileSync(path.join(MAIL_CORPUS, file)));
    expect(m.text.replace(/\s+/g, ' ')).toContain(sentence);
  });
});
