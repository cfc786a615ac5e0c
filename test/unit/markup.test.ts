import { markupTokens } from '../../src/spam/markup';
import { spamInput } from '../../src/spam/spam-input';
import { parseMail } from '../../src/pipeline/stages/parse';
import { tokenize } from '../../src/spam/tokenize';

describe('markupTokens (the html as sent, for the spam filter)', () => {
  it('names the tags, the layout attributes on them and the telling values; nothing else', () => {
    const html = '<html><head><meta http-equiv="Content-Type" content="text/html"><style>p{}</style></head><body bgcolor=#FFFFFF><table border="0" cellpadding=2><tr><td><font face="Arial" size=4 color=\'red\' onclick="x()">BUY</font></td></tr></table><a href="http://x.example">here</a></body></html>';
    expect(markupTokens(html).sort()).toEqual(
      [
        'html:html',
        'html:head',
        'html:meta',
        'html:style',
        'html:body',
        'html:body.bgcolor',
        'html:bgcolor=#ffffff',
        'html:table',
        'html:table.border',
        'html:table.cellpadding',
        'html:tr',
        'html:td',
        'html:font',
        'html:font.face',
        'html:face=arial',
        'html:font.size',
        'html:size=4',
        'html:font.color',
        'html:color=red',
        'html:a',
      ].sort(),
    );
    expect(markupTokens(null)).toEqual([]);
    expect(markupTokens('plain < text > with 3 < 4')).toEqual([]);
  });

  it('keeps no control character in a token and stays bounded on hostile html', () => {
    expect(markupTokens('<font color="re\u0000d" size="\u00014">x</font>')).toEqual(['html:font', 'html:font.color', 'html:font.size']);
    const hostile = `${'<a '.repeat(200_000)}${'<b x=1>'.repeat(100_000)}`;
    const tokens = markupTokens(hostile);
    expect(tokens.length).toBeLessThanOrEqual(300);
  });

  it('the daemon’s parse and the spam commands’ quick reader give the same markup tokens (the sanitised html would not)', async () => {
    const raw = Buffer.from(
      ['From: a@spam.example', 'To: support@example.test', 'Subject: offer', 'Message-ID: <m@spam.example>', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', '<html><body bgcolor="#000000"><center><font color="#ff0000" size="5">WIN</font></center></body></html>', ''].join('\r\n'),
    );
    const mail = await parseMail(raw);
    expect(mail.markup).toEqual(spamInput(raw).markup);
    expect(mail.markup).toContain('html:body.bgcolor');
    // The ticket keeps sanitised html, without the body's colour; the filter still sees it.
    expect(mail.html).not.toContain('bgcolor');
    expect([...tokenize({ ...mail, attachments: mail.attachments })]).toContain('html:bgcolor=#000000');
  });
});
