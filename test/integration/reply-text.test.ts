import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../../src/pipeline/stages/parse';
import { parseCommands, replyText } from '../../src/pipeline/reply-text';
import { MAIL_CORPUS } from '../helpers/corpus';

/** Real replies from the corpus: what the person wrote above (or instead of) the quoted history. */
describe('reply text of real mail clients', () => {
  it.each([
    ['Apple Mail (signature and quote)', 'alaveteli/apple-mail-with-attachments.eml', 'I’m now going to reply to this request with 3 attachments'],
    ['Thunderbird (French attribution)', 'notmuch/default/cur/52:2,', 'Thank you Allan'],
    ['Gmail', 'notmuch/default/foo/baz/new/16:2,', 'Sorry, wrong URL, the correct one is: http://orgmode.org\n  -- Jan'],
    ['Outlook (quoted Original Message block)', 'notmuch/lkml/cur/1382298775.002999:2,', 'Yang Li pointed to these patches in his post from July 23, 2010.\nIt would be nice to have these patches in mainline code.'],
  ])('%s', async (_client, file, expected) => {
    const mail = await parseMail(readFileSync(path.join(MAIL_CORPUS, file)));
    expect(replyText(mail.text)).toBe(expected);
  });

  it.each([
    ['Gmail, Spanish', 'Gracias, ya funciona.\n\nEl lun, 23 nov 2026 a las 10:00, Support (<support@example.test>) escribió:\n> Hola\n', 'Gracias, ya funciona.'],
    ['Outlook, From/Sent block', 'Done, closing.\n\nFrom: Support <support@example.test>\nSent: Monday, November 23, 2026 10:00 AM\nTo: Ana\nSubject: [HD-1] Printer\n\nHello', 'Done, closing.'],
    ['Outlook, underscores', 'Fixed.\r\n\r\n________________________________\r\nDe: Support\r\nEnviado: lunes\r\n', 'Fixed.'],
  ])('%s', (_client, text, expected) => {
    expect(replyText(text)).toBe(expected);
  });
});

describe('command lines', () => {
  it('takes only the lines at the top, any case and spacing', () => {
    expect(parseCommands('\n  #Status  Resolved \n#note\nText\n#priority high\n')).toEqual({
      commands: [
        { name: 'status', arg: 'Resolved', line: '#Status  Resolved' },
        { name: 'note', arg: '', line: '#note' },
      ],
      rest: 'Text\n#priority high',
    });
    expect(parseCommands('#1 priority is the printer').commands).toEqual([]);
  });
});
