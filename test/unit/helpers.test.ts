import { commandAndData } from '../../src/cli/early-wish';
import { readAccessToken } from '../../src/mail-in/access-token';
import { sanitizeFilename } from '../../src/pipeline/filename';
import { extractUuencoded } from '../../src/pipeline/uuencode';
import { splitMbox } from '../../src/mail-in/files';
import { formatDuration, parseDuration } from '../../src/lib/duration';
import { dateTimeFormat, numberFormat } from '../../src/lib/intl-formats';
import { backoffDelay } from '../../src/lib/backoff';

describe('sanitizeFilename', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\x\\report.pdf', 'report.pdf'],
    ['a\u0000b\u001fc\u007f.txt', 'abc.txt'],
    ['...hidden', 'hidden'],
    ['what?<>|*".txt', 'what______.txt'],
    ['', 'part-3.pdf'],
    [undefined, 'part-3.pdf'],
  ])('%j → %j', (name, expected) => {
    expect(sanitizeFilename(name, 'application/pdf', 2)).toBe(expected);
  });
  it('bounds the length and keeps the extension', () => {
    const name = sanitizeFilename(`${'x'.repeat(500)}.docx`, 'application/octet-stream', 0);
    expect(name.length).toBe(180);
    expect(name.endsWith('.docx')).toBe(true);
  });
});

describe('extractUuencoded', () => {
  it('cuts a uuencoded file out of the text and decodes it', () => {
    // "Cat" uuencoded.
    const { text, files } = extractUuencoded('Hello\n\nbegin 644 cat.txt\n#0V%T\n`\nend\n\nBye');
    expect(files).toEqual([{ name: 'cat.txt', content: Buffer.from('Cat') }]);
    expect(text).toBe('Hello\n\nBye');
  });
  it('leaves text that only looks like a begin line alone', () => {
    expect(extractUuencoded('begin 644 at once\nend').files).toHaveLength(0);
  });
});

describe('splitMbox', () => {
  it('returns a single message whole, From_ line included', () => {
    const one = Buffer.from('From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\nbody\n');
    expect(splitMbox(one)).toEqual([one]);
  });
  it('splits at From_ lines after an empty line and unquotes >From', () => {
    const box = Buffer.from('From a@b Mon Jan 1\nSubject: 1\n\n>From here\n\nFrom c@d Tue Jan 2\nSubject: 2\n\ntwo\n');
    expect(splitMbox(box).map((b) => b.toString())).toEqual(['Subject: 1\n\nFrom here\n\n', 'Subject: 2\n\ntwo\n']);
  });
  it('does not treat a file without a From_ line as an mbox', () => {
    const mail = Buffer.from('Subject: x\n\nFrom me\n\nFrom you\n');
    expect(splitMbox(mail)).toEqual([mail]);
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['4', null],
    ['h', null],
    ['4 hours', null],
  ])('%s → %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('kept Intl formatters', () => {
  it('gives the same formatter for the same locale and options, another for others', () => {
    const a = dateTimeFormat('es', { dateStyle: 'full', timeZone: 'Europe/Madrid' });
    expect(dateTimeFormat('es', { dateStyle: 'full', timeZone: 'Europe/Madrid' })).toBe(a);
    expect(dateTimeFormat('es', { dateStyle: 'full', timeZone: 'UTC' })).not.toBe(a);
    expect(dateTimeFormat('en', { dateStyle: 'full', timeZone: 'Europe/Madrid' })).not.toBe(a);
    expect(numberFormat('en', { style: 'unit', unit: 'hour', unitDisplay: 'long' }).format(2)).toBe('2 hours');
    expect(formatDuration(26 * 3_600_000 + 5 * 60_000, 'es')).toBe('1 día 2 horas');
  });

  it('throws for a time zone Intl does not know, each time (nothing kept)', () => {
    expect(() => dateTimeFormat('en', { timeZone: 'Mars/Olympus' })).toThrow(RangeError);
    expect(() => dateTimeFormat('en', { timeZone: 'Mars/Olympus' })).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter between half and all of it', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});

describe('readAccessToken', () => {
  it('reads the variable at every call, so an updated token is picked up', async () => {
    const env: NodeJS.ProcessEnv = { TOKEN: 'one' };
    expect(await readAccessToken({ tokenEnv: 'TOKEN' }, env)).toBe('one');
    env.TOKEN = 'two\n';
    expect(await readAccessToken({ tokenEnv: 'TOKEN' }, env)).toBe('two');
  });
  it('says which variable is empty, as a transient error', async () => {
    await expect(readAccessToken({ tokenEnv: 'NOPE' }, {})).rejects.toMatchObject({ code: 'TOKEN_MISSING', transient: true, message: expect.stringMatching(/NOPE/) });
  });
  it('reports a failing token command with its stderr', async () => {
    await expect(readAccessToken({ tokenCommand: 'echo denied >&2; exit 3' })).rejects.toThrow(/token command failed: denied/);
  });
});

describe('commandAndData (the binary reads it before anything else loads)', () => {
  it('finds the command word and --data, skipping the values of the global options', () => {
    expect(commandAndData(['--config', 'ingest', '--data', '/srv/hd', 'ingest', '-'])).toEqual({ command: 'ingest', data: '/srv/hd' });
    expect(commandAndData(['--data=/srv/x', 'tickets', 'list'])).toEqual({ command: 'tickets', data: '/srv/x' });
    expect(commandAndData(['--help'])).toEqual({ command: undefined, data: undefined });
  });
});
