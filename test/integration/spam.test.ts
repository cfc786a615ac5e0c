import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CACHE_LIMIT, spamCounts, spamStore } from '../../src/store/spam';
import { runCli } from '../helpers/cli';
import { FIXTURES, removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { openStore } from '../../src/store/open';

afterAll(() => removeTempDirs());

const SA = path.join(FIXTURES, 'spamassassin');
const lines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('spam filter through the CLI and the pipeline', () => {
  const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\nspam: { minTrained: 50 }\n' });
  const data = tempDir('hd-spam-');
  const args = ['--config', config, '--data', data];

  it('trains, relearns the other way exactly, and classifies held-out mail', () => {
    const train = runCli([...args, 'spam', 'train', '--spam', path.join(SA, 'train/spam'), '--ham', path.join(SA, 'train/ham'), '--json']);
    expect(train.code).toBe(0);
    expect(JSON.parse(train.stdout)).toMatchObject({ learnt: 160, totals: { spam: 80, ham: 80 } });

    // Learning the same messages again changes nothing; learning one ham as spam and back restores every count.
    const store = openStore(data);
    const before = store.sqlite.prepare('select token, spam_count, ham_count from spam_tokens order by token').all();
    store.close();
    const oneHam = path.join(SA, 'train/ham', readdirSync(path.join(SA, 'train/ham'))[0]);
    expect(JSON.parse(runCli([...args, 'spam', 'train', '--spam', oneHam, '--json']).stdout)).toMatchObject({ relearnt: 1, totals: { spam: 81, ham: 79 } });
    expect(JSON.parse(runCli([...args, 'spam', 'train', '--ham', oneHam, '--json']).stdout)).toMatchObject({ relearnt: 1, totals: { spam: 80, ham: 80 } });
    const again = openStore(data);
    expect(again.sqlite.prepare('select token, spam_count, ham_count from spam_tokens order by token').all()).toEqual(before);
    again.close();

    const spam = lines(runCli([...args, 'spam', 'classify', '--json', path.join(SA, 'test/spam')]).stdout);
    const ham = lines(runCli([...args, 'spam', 'classify', '--json', path.join(SA, 'test/ham')]).stdout);
    expect(spam).toHaveLength(10);
    expect(spam[0]).toEqual({ source: expect.stringContaining('test/spam/'), verdict: expect.any(String), score: expect.any(Number) });
    expect(ham.filter((r) => r.verdict === 'spam')).toEqual([]);
    // Trained on only 80 + 80 messages: no held-out ham is called spam, no spam is called ham,
    // and, at the shipped cutoff of 0.99, some of the spam is recognised outright (3 of 10
    // with the parameters of spam/model.ts; the rest is unsure: ticket kept, acknowledgement
    // withheld, the assignee told).
    expect(spam.filter((r) => r.verdict === 'ham')).toEqual([]);
    expect(spam.filter((r) => r.verdict === 'spam').length).toBeGreaterThanOrEqual(3);
    const ev = JSON.parse(runCli([...args, 'spam', 'eval', '--spam', path.join(SA, 'test/spam'), '--ham', path.join(SA, 'test/ham'), '--json']).stdout);
    expect(ev.hamToSpamRate).toBe(0);
    expect(ev.spam.total).toBe(10);
  });

  it('makes a spam ticket of spam (status spam, unassigned), a normal ticket of ham, and learns a staff correction', () => {
    // The held-out spam the small model is surest about.
    const scored = lines(runCli([...args, 'spam', 'classify', '--json', path.join(SA, 'test/spam')]).stdout) as { source: string; score: number }[];
    const spamFile = scored.sort((a, b) => b.score - a.score)[0].source;
    const hamFile = path.join(SA, 'test/ham', readdirSync(path.join(SA, 'test/ham')).sort()[0]);
    const score = lines(runCli([...args, 'spam', 'classify', '--json', spamFile]).stdout)[0];
    expect(score.verdict).toBe('spam');
    const results = lines(runCli([...args, 'ingest', '--json', spamFile, hamFile]).stdout);
    expect(results.map((r) => [r.outcome, r.spam])).toEqual([
      ['created', 'spam'],
      ['created', 'ham'],
    ]);
    const spamTicket = JSON.parse(runCli([...args, 'tickets', 'show', results[0].ticket as string, '--json']).stdout);
    expect(spamTicket).toMatchObject({ status: 'spam', spamVerdict: 'spam', assignee: null });
    expect(spamTicket.events.map((e: { type: string }) => e.type)).not.toContain('unassigned');
    const hamTicket = JSON.parse(runCli([...args, 'tickets', 'show', results[1].ticket as string, '--json']).stdout);
    expect(hamTicket.status).toBe('new');
    // No mail at all about the spam ticket (the ham one is list mail: not acknowledged either).
    expect(JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout)).toEqual([]);
    const plain = path.join(tempDir('hd-spam-ham-'), 'plain.eml');
    writeFileSync(plain, buildMail({ subject: 'Invoice question', body: 'Hello, my invoice shows the wrong address. Regards, Carla' }));
    // A plain customer mail is acknowledged unless the filter is unsure (notifications.withholdAckWhenUnsure).
    const verdict = lines(runCli([...args, 'ingest', '--json', plain]).stdout)[0].spam;
    expect(['ham', 'unsure']).toContain(verdict);
    const templates = (JSON.parse(runCli([...args, 'outbox', 'list', '--json']).stdout) as { template: string }[]).map((r) => r.template);
    expect(templates.includes('ack')).toBe(verdict === 'ham');

    // Staff say the ham ticket is spam: the model learns it (its counts change).
    const store = openStore(data);
    const totalsBefore = spamStore(store).totals();
    store.close();
    const set = runCli([...args, 'tickets', 'set', results[1].ticket as string, 'status', 'spam']);
    expect(set.stdout).toMatch(/spam filter learnt it as spam/);
    const after = openStore(data);
    expect(spamStore(after).totals()).toEqual({ spam: totalsBefore.spam + 1, ham: totalsBefore.ham });
    after.close();
    // ...and taking it out of spam relearns it as ham.
    expect(runCli([...args, 'tickets', 'set', results[1].ticket as string, 'status', 'open']).stdout).toMatch(/relearnt it as ham/);
    expect(readFileSync(hamFile).length).toBeGreaterThan(0);
  });

  it('keeps token counts in memory only until the model changes, in this process or another', () => {
    const dir = tempDir('hd-spam-cache-');
    const daemon = openStore(dir);
    const cli = openStore(dir); // another connection to the same file, as `helpdesk spam train` has
    spamStore(daemon).learn('raw:1', 'spam', ['viagra', 'cheap'], 0);
    expect(spamCounts(daemon, ['viagra', 'hello'])).toEqual(new Map([['viagra', { spam: 1, ham: 0 }]]));
    // Learnt elsewhere: the cached count of `viagra` and the cached absence of `hello` are dropped.
    spamStore(cli).learn('raw:2', 'ham', ['hello', 'viagra'], 0);
    expect(spamCounts(daemon, ['viagra', 'hello'])).toEqual(
      new Map([
        ['viagra', { spam: 1, ham: 1 }],
        ['hello', { spam: 0, ham: 1 }],
      ]),
    );
    // Relearnt in this process: seen at once.
    spamStore(daemon).learn('raw:2', 'spam', ['hello', 'viagra'], 0);
    expect(spamCounts(daemon, ['hello'])).toEqual(new Map([['hello', { spam: 1, ham: 0 }]]));
    // A model too big to hold whole (over CACHE_LIMIT tokens) is read token by token: same counts.
    cli.sqlite.exec(`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${CACHE_LIMIT + 1}) insert into spam_tokens (token, spam_count, ham_count) select 'filler' || i, 0, 1 from n`);
    spamStore(cli).learn('raw:3', 'ham', ['hello'], 0);
    expect(spamCounts(daemon, ['hello', 'viagra', 'filler77', 'nothing'])).toEqual(
      new Map([
        ['hello', { spam: 1, ham: 1 }],
        ['viagra', { spam: 2, ham: 0 }],
        ['filler77', { spam: 0, ham: 1 }],
      ]),
    );
    cli.close();
    daemon.close();
  });
  it('keeps no message text in memory through its cached tokens, on an untrained model or one read token by token', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heapAfterGc = () => {
      gc();
      const { heapUsed, external } = process.memoryUsage();
      return heapUsed + external; // a long string made from a Buffer is external to the heap
    };
    // Classifies 40 messages of 1 MB, each of which has one token that is a slice of its text
    // (as the tokenizer's are), and drops them: what stays is what the count cache holds.
    const classifyAndDrop = (store: ReturnType<typeof openStore>, round: number) => {
      const before = heapAfterGc();
      for (let i = 0; i < 40; i++) {
        const text = Buffer.alloc(1 << 20, `round${round} message${i} `).toString('latin1');
        spamCounts(store, [text.slice(3, 40)]);
      }
      return (heapAfterGc() - before) / 1e6;
    };
    const untrained = openStore(tempDir('hd-spam-untrained-'));
    expect(classifyAndDrop(untrained, 1)).toBeLessThan(10);
    untrained.close();

    const partly = openStore(tempDir('hd-spam-partly-'));
    spamStore(partly).learn('raw:1', 'spam', ['viagra'], 0);
    spamCounts(partly, ['viagra']); // read whole...
    spamStore(partly).learn('raw:2', 'ham', ['hello'], 0);
    expect(spamCounts(partly, ['hello'])).toEqual(new Map([['hello', { spam: 0, ham: 1 }]])); // ...so now token by token for a while
    expect(classifyAndDrop(partly, 2)).toBeLessThan(10);
    partly.close();
  });
});
