import { headerEnd } from '../../src/pipeline/stages/parse';

/** What headerEnd replaced: the first blank line as a regex over the decoded bytes. */
function byRegex(bytes: Buffer): number {
  const m = /\r?\n\r?\n/.exec(bytes.toString('latin1'));
  return m ? m.index : bytes.length;
}

describe('headerEnd', () => {
  it.each([
    ['Subject: a\r\n\r\nbody', 10],
    ['Subject: a\n\nbody', 10],
    ['Subject: a\r\n\nbody', 10],
    ['Subject: a\n\r\nbody', 10],
    ['Subject: a\r\nX: b\n\r\n\r\nbody', 16],
    ['\n\nbody', 0],
    ['\r\n\r\n', 0],
    ['Subject: no body', 16],
    ['Subject: a\r\r\n\r\nb', 11],
    ['', 0],
  ])('%j → %d', (text, at) => {
    const bytes = Buffer.from(text, 'latin1');
    expect(headerEnd(bytes)).toBe(at);
    expect(headerEnd(bytes)).toBe(byRegex(bytes));
  });

  it('finds the same place as the regex on random runs of line ends and text', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = ['\r', '\n', 'a', ':', ' ', '\xe9'];
    for (let i = 0; i < 5000; i++) {
      const text = Array.from({ length: next() % 24 }, () => alphabet[next() % alphabet.length]).join('');
      const bytes = Buffer.from(text, 'latin1');
      expect([text, headerEnd(bytes)]).toEqual([text, byRegex(bytes)]);
    }
  });
});
