import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readBounce } from '../../src/pipeline/bounce-report';
import { parseMail } from '../../src/pipeline/stages/parse';
import { MAIL_CORPUS } from '../helpers/corpus';

const BSD = path.join(MAIL_CORPUS, 'sisimai', 'bsd');

interface Expected {
  message_kind: string;
  recipients: { deliverystatus: string; hardbounce: boolean }[];
}

/** Every sisimai bounce whose expectation names an enhanced status code. */
const cases = readdirSync(BSD)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => ({ name: f.replace(/\.expected\.json$/, ''), expected: JSON.parse(readFileSync(path.join(BSD, f), 'utf8')) as Expected }))
  .filter((c) => c.expected.message_kind === 'bounce' && /^\d\.\d+\.\d+$/.test(c.expected.recipients[0]?.deliverystatus ?? ''));

describe('reading bounces (sisimai expectations)', () => {
  it('finds the status class and the original Message-ID in real bounces', async () => {
    expect(cases.length).toBeGreaterThan(150);
    let sameClass = 0;
    let withStatus = 0;
    let sameStatus = 0;
    let withOriginal = 0;
    const misses: string[] = [];
    for (const c of cases) {
      const report = readBounce(await parseMail(readFileSync(path.join(BSD, `${c.name}.eml`))));
      const want = c.expected.recipients.map((r) => r.deliverystatus);
      if (report.status) withStatus++;
      if (report.status && want.includes(report.status)) sameStatus++;
      if (report.status && want.some((w) => w[0] === report.status?.[0])) sameClass++;
      else if (report.status) misses.push(`${c.name}: got ${report.status}, sisimai ${want.join('/')}`);
      if (report.originalMessageIds.length > 0) withOriginal++;
    }
    const n = cases.length;
    if (process.env.SHOW_MISSES) process.stdout.write(misses.join("\n") + "\n");
    process.stdout.write(`bounces: ${n}; a status found in ${withStatus}, its class (temporary/permanent) agrees in ${sameClass}, exact ${sameStatus}; original Message-ID found ${withOriginal}\n`);
    // Sisimai infers codes (5.0.9xx) where the mail gives none; we claim nothing there.
    expect(withStatus / n).toBeGreaterThan(0.8);
    // Where we say, temporary vs permanent agrees with sisimai (we call "mailbox full" temporary, it does not).
    expect(misses.length).toBeLessThanOrEqual(Math.ceil(withStatus * 0.03));
    expect(sameStatus / withStatus).toBeGreaterThan(0.75);
    expect(withOriginal / n).toBeGreaterThan(0.6);
  });

  it('never calls a temporary failure hard', async () => {
    const temporary = cases.filter((c) => c.expected.recipients.every((r) => r.deliverystatus.startsWith('4.')));
    expect(temporary.length).toBeGreaterThan(5);
    for (const c of temporary) {
      const report = readBounce(await parseMail(readFileSync(path.join(BSD, `${c.name}.eml`))));
      expect({ name: c.name, hard: report.hard }).toEqual({ name: c.name, hard: false });
    }
  });
});
