import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyMail } from '../../src/pipeline/stages/classify';
import { parseMail } from '../../src/pipeline/stages/parse';
import { MAIL_CORPUS } from '../helpers/corpus';
import { buildMail } from '../helpers/mail';

const SISIMAI = path.join(MAIL_CORPUS, 'sisimai');
const EXPECTED_KIND: Record<string, string> = { bounce: 'bounce', 'auto-reply': 'auto-reply', 'feedback-report': 'report', 'delivery-status-success': 'report', 'not-bounce': 'normal' };

async function kindOf(file: string) {
  return classifyMail(await parseMail(readFileSync(file)), 'support@example.test');
}

describe('classification against sisimai expectations', () => {
  const cases = ['bsd', 'not-bounce'].flatMap((dir) =>
    readdirSync(path.join(SISIMAI, dir))
      .filter((f) => f.endsWith('.expected.json'))
      .map((f) => ({ file: path.join(SISIMAI, dir, f.replace(/\.expected\.json$/, '.eml')), kind: (JSON.parse(readFileSync(path.join(SISIMAI, dir, f), 'utf8')) as { message_kind: string }).message_kind })),
  );

  it('recognises bounces, auto-replies, reports and normal mail', async () => {
    expect(cases.length).toBeGreaterThan(400);
    const wrong: string[] = [];
    for (const c of cases) {
      const got = (await kindOf(c.file)).kind;
      if (got !== EXPECTED_KIND[c.kind]) wrong.push(`${path.basename(c.file)}: expected ${EXPECTED_KIND[c.kind]}, got ${got}`);
    }
    // Every auto-reply, report and non-bounce must be right; bounces almost all.
    expect(wrong.filter((w) => !/expected bounce/.test(w))).toEqual([]);
    expect(wrong.length / cases.length).toBeLessThan(0.02);
  });

  it('leaves ordinary mail from real clients normal', async () => {
    const dir = path.join(MAIL_CORPUS, 'hunnysoft');
    const files = readdirSync(dir).filter((f) => f.endsWith('.txt'));
    const kinds = await Promise.all(files.map(async (f) => (await kindOf(path.join(dir, f))).kind));
    expect(kinds.filter((k) => k !== 'normal')).toEqual([]);
  });

  it.each([
    [{ headers: { 'Auto-Submitted': 'auto-replied' } }, 'auto-reply', false],
    [{ subject: 'Automatic reply: Printer broken' }, 'auto-reply', false],
    [{ subject: 'Respuesta automática: impresora' }, 'auto-reply', false],
    [{ headers: { 'X-Autoreply': 'yes' } }, 'auto-reply', false],
    [{ headers: { 'Auto-Submitted': 'no' } }, 'normal', false],
    [{ headers: { 'X-Failed-Recipients': 'x@y.test' } }, 'bounce', false],
    [{ from: 'MAILER-DAEMON@mx.example.test', subject: 'Undelivered Mail Returned to Sender' }, 'bounce', false],
    [{ from: 'support@example.test' }, 'loop', false],
    [{ headers: { 'X-Helpdesk-Loop': 'support@example.test' } }, 'loop', false],
    [{ headers: { 'List-Id': '<users.lists.example.test>' } }, 'normal', true],
    [{ headers: { Precedence: 'bulk' } }, 'normal', true],
    [{}, 'normal', false],
  ])('%j → %s (bulk %s)', async (spec, kind, bulk) => {
    const c = classifyMail(await parseMail(buildMail(spec)), 'support@example.test');
    expect([c.kind, c.bulk]).toEqual([kind, bulk]);
    expect(c.reason).toBeTruthy();
  });
});
