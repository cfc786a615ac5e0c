import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMail } from '../../src/pipeline/stages/parse';
import type { InboundMail } from '../../src/pipeline/types';
import { corpusMails, MAIL_CORPUS, zammadExpected, type ZammadExpected } from '../helpers/corpus';
import { openTestDesk, removeTempDirs } from '../helpers/env';

const squash = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
const noSpace = (s: string | undefined) => (s ?? '').replace(/\s+/g, '');

afterAll(() => removeTempDirs());

describe('the whole mail corpus', () => {
  it('gives every corpus message an outcome, and the pipeline never throws', async () => {
    const desk = openTestDesk();
    const mails = corpusMails();
    expect(mails.length).toBeGreaterThan(1000);
    const outcomes: Record<string, number> = {};
    const quarantined: string[] = [];
    for (const { file } of mails) {
      const r = await desk.ingest(readFileSync(path.join(MAIL_CORPUS, file)), { source: file });
      expect(['created', 'appended', 'duplicate', 'quarantined', 'ignored']).toContain(r.outcome);
      // Only bounces for mail this help desk never sent are kept without a ticket.
      if (r.outcome === 'ignored') expect(r.reason).toMatch(/^bounce matching no mail we sent/);
      if (r.outcome === 'quarantined') {
        expect(r.reason).toMatch(/^parse: not an email message/);
        quarantined.push(file);
      }
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    }
    // Real mail is parseable: any other quarantine would be a parser finding to fix. These two
    // files are not mail at all (a bare lorem-ipsum body, a PHP debug dump).
    expect(quarantined).toEqual(['php-bounce-handler/unsubscribe.txt', 'rt/emails/lorem-ipsum']);
    expect(outcomes.created).toBeGreaterThan(400);
    expect(outcomes.ignored).toBeGreaterThan(200);
    // notmuch's threading corpus and lkml threads must actually thread.
    expect(outcomes.appended).toBeGreaterThan(50);
    desk.close();
  }, 240_000);
});

/**
 * Where our result differs from Zammad's on purpose. Each entry names the field and why;
 * everything else must match.
 */
const ZAMMAD_DIFFERENCES: Record<string, Partial<Record<ZammadField, string>>> = {
  'mail006.box': { to: 'the only address is inside a (comment); Zammad shows it, we find no recipient' },
  'mail075.box': { to: 'the only address is inside a (comment); Zammad shows it, we find no recipient' },
  'mail025.box': { body: 'Zammad leaves a uuencoded file in the text; we extract it as an attachment' },
  'mail035.box': { from: 'Zammad keeps the quotes of a quoted address literal' },
  'mail046.box': { name: 'Zammad decodes the raw GB2312 name as ISO-8859-2 (garbled); we get 武兰成' },
  'mail053.box': { attachments: 'Zammad invents names for unnamed DSN parts' },
  'mail059.box': { name: 'unquoted comma in the display name: we keep the whole name, Zammad the last word' },
  'mail071.box': { from: 'malformed unquoted From: Zammad glues words into the address' },
  'mail076.box': { name: 'malformed From: Zammad keeps a broken fragment as name' },
  'mail087.box': { from: 'malformed From: Zammad glues the name into the address', name: 'same', body: 'Zammad shows a placeholder for a body we decode' },
  'mail072.box': { body: 'Zammad decodes windows-1258 wrongly (ŕ for à); we decode it right' },
  'mail085.box': { body: 'Zammad picks a different alternative part', attachments: 'Zammad lists the html alternative as attachment' },
  'mail003.box': { body: 'Zammad post-processes the greeting; same message otherwise' },
  'mail016.box': { body: 'Zammad includes the html <title>' },
  'mail019.box': { body: 'Zammad includes the html <title>' },
  'mail026.box': { body: 'Zammad picks the html alternative' },
  'mail047.box': { body: 'Zammad includes image alt texts' },
  'mail049.box': { body: 'Zammad includes image alt texts' },
  'mail066.box': { body: 'Zammad includes image alt texts' },
};

// Names Zammad makes up for parts without a file name; we use part-N.<ext> instead.
const ZAMMAD_INVENTED = /^(file|image\.(gif|jpg)|image0+\d*\.jpg|document\d*\.html|message\.html|video\d*\.mov|Delivery report\.txt|delivery-status\.txt)$/;

type ZammadField = 'from' | 'name' | 'subject' | 'to' | 'body' | 'attachments';

/** Per field: does our parse give what Zammad expects (undefined: Zammad expects nothing there)? */
function zammadAgreement(e: ZammadExpected, m: InboundMail): Partial<Record<ZammadField, boolean>> {
  const out: Partial<Record<ZammadField, boolean>> = {};
  if (e.from_email) out.from = m.from?.address === e.from_email.toLowerCase();
  if (e.from_display_name !== undefined) out.name = squash(m.from?.name) === squash(e.from_display_name);
  if (e.subject !== undefined) out.subject = squash(m.subject) === squash(e.subject);
  if (e.to) out.to = (e.to.match(/[^\s<>,"'()]+@[^\s<>,"'()]+/g) ?? []).every((addr) => m.to.some((a) => a.address === addr.toLowerCase()));
  if (e.content_type === 'text/plain' && e.body !== 'no visible content') out.body = noSpace(m.text).slice(0, 60) === noSpace(e.body).slice(0, 60);
  const expected = (e.attachments ?? [])
    .filter((a) => !a.preferences['original-format'] && !a.preferences['content-alternative'])
    .map((a) => a.filename)
    .filter((n) => !ZAMMAD_INVENTED.test(n));
  if (expected.length > 0) out.attachments = expected.every((name) => m.attachments.some((a) => a.filename === name.replace(/^(.*?)(1)(\.\d\d\.\d\d\.png)$/, '$1$3')));
  return out;
}

describe('zammad fixtures: parsed fields equal Zammad expected results', () => {
  const boxes = readdirSync(path.join(MAIL_CORPUS, 'zammad')).filter((f) => f.endsWith('.box'));
  const results = new Map<string, Partial<Record<ZammadField, boolean>>>();
  beforeAll(async () => {
    for (const box of boxes) results.set(box, zammadAgreement(zammadExpected(box), await parseMail(readFileSync(path.join(MAIL_CORPUS, 'zammad', box)))));
  });

  it.each(boxes)('%s: every field agrees but the differences listed', (box) => {
    const skip = ZAMMAD_DIFFERENCES[box] ?? {};
    const result = results.get(box) ?? {};
    const wrong = Object.entries(result).filter(([field, ok]) => !ok && !skip[field as ZammadField]).map(([field]) => field);
    expect(wrong).toEqual([]);
    // A listed difference that no longer differs must leave the list.
    const fixed = Object.keys(skip).filter((field) => result[field as ZammadField] === true);
    expect(fixed).toEqual([]);
  });

  it('prints the agreement per field; every miss is a listed difference (issue #24)', () => {
    const fields: ZammadField[] = ['from', 'name', 'subject', 'to', 'body', 'attachments'];
    const rows = fields.map((field) => {
      const seen = [...results.values()].map((r) => r[field]).filter((v) => v !== undefined);
      return { field, agree: seen.filter(Boolean).length, n: seen.length };
    });
    process.stdout.write(`zammad (${boxes.length} mails): ${rows.map((r) => `${r.field} ${r.agree}/${r.n} (${((100 * r.agree) / r.n).toFixed(1)}%)`).join(', ')}\n`);
    for (const r of rows) expect({ field: r.field, misses: r.n - r.agree }).toEqual({ field: r.field, misses: boxes.filter((b) => ZAMMAD_DIFFERENCES[b]?.[r.field] && results.get(b)?.[r.field] === false).length });
  });
});

interface HunnysoftExpected {
  From?: { name: string; email: string };
  To?: { name: string; email: string };
  Subject?: string;
  'Message-ID'?: string;
  Date?: { DateTime: string };
  text?: string;
  html?: string;
  attachments?: number;
}

describe('hunnysoft fixtures: parsed fields equal mail-mime-parser expected results', () => {
  const dir = path.join(MAIL_CORPUS, 'hunnysoft');
  const cases = readdirSync(dir).filter((f) => f.endsWith('.expected.json')).map((f) => f.replace(/\.expected\.json$/, ''));
  // The reference files are Latin-1 or UTF-8 text.
  const file = (name: string) => {
    const bytes = readFileSync(path.join(dir, 'files', name));
    const utf8 = bytes.toString('utf8');
    return utf8.includes('\ufffd') ? bytes.toString('latin1') : utf8;
  };

  it.each(cases)('%s', async (name) => {
    const e = JSON.parse(readFileSync(path.join(dir, `${name}.expected.json`), 'utf8')) as HunnysoftExpected;
    const m = await parseMail(readFileSync(path.join(dir, `${name}.txt`)));
    if (e.From) expect(m.from).toEqual({ address: e.From.email.toLowerCase(), name: e.From.name });
    if (e.To) expect(m.to[0]?.address).toBe(e.To.email.toLowerCase());
    if (e.Subject !== undefined) expect(m.subject).toBe(squash(e.Subject));
    if (e['Message-ID']) expect(m.messageId).toBe(`<${e['Message-ID']}>`);
    if (e.Date) expect(m.date?.getTime()).toBe(new Date(e.Date.DateTime).getTime());
    // mailparser appends further inline text/plain parts to the text; the first part must match.
    if (e.text) expect(noSpace(m.text).startsWith(noSpace(file(e.text)))).toBe(true);
    // mail-mime-parser does not count the signature part of multipart/signed; we keep it.
    if (e.attachments !== undefined) expect(m.attachments.filter((a) => a.contentType !== 'application/pgp-signature').length).toBe(e.attachments);
    for (const a of m.attachments) {
      if (!existsSync(path.join(dir, 'files', a.filename))) continue;
      const expected = readFileSync(path.join(dir, 'files', a.filename));
      if (a.contentType.startsWith('text/')) expect(noSpace(a.content.toString('latin1'))).toBe(noSpace(expected.toString('latin1')));
      else expect(a.content.equals(expected)).toBe(true);
    }
  });
});

describe('a stored corpus message keeps what the tickets show', () => {
  it('stores attachments once per sha256 and lists them on the ticket', async () => {
    const desk = openTestDesk();
    const raw = readFileSync(path.join(MAIL_CORPUS, 'zammad/mail102.box'));
    const r = await desk.ingest(raw);
    const t = (await desk.view.showTicket(r.ticket as string));
    const atts = t?.messages[0].attachments ?? [];
    expect(atts.map((a) => a.filename)).toEqual(expect.arrayContaining(['documentation-todo.pdf']));
    for (const a of atts) {
      expect(a.path).toBe(path.join('attachments', a.sha256.slice(0, 2), a.sha256));
      const kept = await desk.view.readFile(a.path as string);
      expect(kept?.length).toBe(a.size);
    }
    desk.close();
  });
});
