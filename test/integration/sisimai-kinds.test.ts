import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { classifyMail, type MailKind } from '../../src/pipeline/stages/classify';
import { parseMail } from '../../src/pipeline/stages/parse';
import { MAIL_CORPUS } from '../helpers/corpus';

/** What sisimai's expectation calls a mail, in our kinds. */
const OURS: Record<string, MailKind[]> = {
  bounce: ['bounce'],
  'feedback-report': ['report'],
  'delivery-status-success': ['report'],
  'auto-reply': ['auto-reply'],
  'not-bounce': ['normal', 'auto-reply', 'report'],
};

interface Case {
  file: string;
  module: string;
  kind: string;
}

const cases: Case[] = ['bsd', 'not-bounce'].flatMap((dir) =>
  readdirSync(path.join(MAIL_CORPUS, 'sisimai', dir))
    .filter((f) => f.endsWith('.expected.json'))
    .map((f) => {
      const e = JSON.parse(readFileSync(path.join(MAIL_CORPUS, 'sisimai', dir, f), 'utf8')) as { sisimai_module?: string; message_kind: string };
      return { file: path.join(MAIL_CORPUS, 'sisimai', dir, f.replace(/\.expected\.json$/, '.eml')), module: e.sisimai_module ?? dir, kind: e.message_kind };
    }),
);

describe('what kind of mail sisimai’s test mails are (issue #26)', () => {
  it('agrees with sisimai per module; prints the agreement and every disagreement', async () => {
    const perModule = new Map<string, { n: number; agree: number }>();
    const disagree: string[] = [];
    for (const c of cases) {
      const got = classifyMail(await parseMail(readFileSync(c.file)), 'support@example.test');
      const m = perModule.get(c.module) ?? { n: 0, agree: 0 };
      m.n++;
      if (OURS[c.kind]?.includes(got.kind)) m.agree++;
      else disagree.push(`${path.basename(c.file)} (${c.module}): sisimai ${c.kind}, we ${got.kind} — ${got.reason}`);
      perModule.set(c.module, m);
    }
    const total = [...perModule.values()].reduce((a, m) => ({ n: a.n + m.n, agree: a.agree + m.agree }), { n: 0, agree: 0 });
    const rows = [...perModule].sort(([a], [b]) => a.localeCompare(b)).map(([name, m]) => `${name} ${m.agree}/${m.n}`);
    process.stdout.write(`sisimai kinds: ${total.agree}/${total.n} agree\n  ${rows.join(', ')}\n${disagree.map((d) => `  ${d}`).join('\n')}\n`);
    expect(total.n).toBeGreaterThan(400);
    expect(disagree).toEqual([]);
  });
});
