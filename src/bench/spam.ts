/**
 * `npm run bench:spam [-- --train-spam P --train-ham P --test-spam P --test-ham P]`
 * Trains our filter and, when installed, bogofilter on the same split; prints ham→spam,
 * spam→ham and unsure rates and messages/second for both. Default split: the SpamAssassin
 * corpus in ../shared/corpus, the older 80% of each folder (by corpus id) to train, the
 * newer 20% plus all hard ham to test. Asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluate } from '../cli/spam';
import { helpdeskFileSchema } from '../config/schema';
import { tokenizedMessages } from '../spam/learn-files';
import { openStore } from '../store/open';
import { spamStore } from '../store/spam';
import { out } from './common';
import { bestCutoffs } from './cutoffs';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Links the given files into a fresh folder, so both filters read exactly the same set. */
function folderOf(work: string, name: string, files: string[]): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  files.forEach((f, i) => symlinkSync(f, path.join(dir, `${String(i).padStart(5, '0')}-${path.basename(f)}`)));
  return dir;
}

function defaultSplit(work: string) {
  const root = path.resolve('../shared/corpus/spamassassin');
  const list = (d: string) => readdirSync(path.join(root, d)).sort().map((f) => path.join(root, d, f));
  const cut = (files: string[]) => [files.slice(0, Math.floor(files.length * 0.8)), files.slice(Math.floor(files.length * 0.8))];
  const [trainSpam, testSpam] = cut(list('spam'));
  const [trainHam, testHam] = cut(list('ham'));
  return {
    trainSpam: folderOf(work, 'train-spam', trainSpam),
    trainHam: folderOf(work, 'train-ham', trainHam),
    testSpam: folderOf(work, 'test-spam', testSpam),
    testHam: folderOf(work, 'test-ham', [...testHam, ...list('hard-ham')]),
  };
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-spam-'));
  try {
    const split = arg('train-spam')
      ? { trainSpam: arg('train-spam') as string, trainHam: arg('train-ham') as string, testSpam: arg('test-spam') as string, testHam: arg('test-ham') as string }
      : defaultSplit(work);
    const store = openStore(path.join(work, 'data'));
    const model = spamStore(store);
    let trained = 0;
    const t0 = process.hrtime.bigint();
    for (const [label, dir] of [['spam', split.trainSpam], ['ham', split.trainHam]] as const) {
      for await (const m of tokenizedMessages([dir])) {
        if ('error' in m) continue;
        model.learn(m.key, label, m.tokens, 0);
        trained++;
      }
    }
    const trainRate = trained / (Number(process.hrtime.bigint() - t0) / 1e9);
    const t1 = process.hrtime.bigint();
    // The shipped defaults of config (helpdesk.yaml `spam:`), without the training minimum.
    const { hamCutoff, spamCutoff } = helpdeskFileSchema.parse({ helpdesk: { address: 'bench@example.test' } }).spam;
    const ours: Scores = { spam: [], ham: [] };
    const r = await evaluate(store, { hamCutoff, spamCutoff, minTrained: 0 }, [split.testSpam], [split.testHam], (label, score) => ours[label].push(score));
    const tested = r.spam.total + r.ham.total;
    const classifyRate = tested / (Number(process.hrtime.bigint() - t1) / 1e9);
    store.close();
    out(`trained on ${trained} messages, tested on ${r.spam.total} spam and ${r.ham.total} ham`);
    out(`helpdesk:   ham→spam ${pct3(r.hamToSpamRate)} (${r.ham.asSpam}), spam→ham ${pct3(r.spamToHamRate)} (${r.spam.asHam}), unsure ${pct3(r.unsureRate)}; train ${trainRate.toFixed(0)} msg/s, classify ${classifyRate.toFixed(0)} msg/s (parsing included)`);
    const theirs = bogofilter(work, split);
    if (theirs) sameUnsure(ours, { hamAsSpam: r.ham.asSpam, unsure: r.spam.unsure + r.ham.unsure }, theirs);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const pct3 = (x: number) => `${(x * 100).toFixed(2)}%`;

interface Scores {
  spam: number[];
  ham: number[];
}

/** bogofilter's test scores and what its shipped cutoffs made of them; null when not installed. */
function bogofilter(work: string, split: { trainSpam: string; trainHam: string; testSpam: string; testHam: string }): (Scores & { hamAsSpam: number; unsure: number }) | null {
  if (spawnSync('bogofilter', ['-V']).error) {
    out('bogofilter: not installed (apt-get install bogofilter) — no comparison');
    return null;
  }
  const db = path.join(work, 'bogo');
  mkdirSync(db);
  const files = (dir: string) => readdirSync(dir).map((f) => path.join(dir, f));
  const t0 = process.hrtime.bigint();
  spawnSync('bogofilter', ['-d', db, '-s', '-B', ...files(split.trainSpam)], { maxBuffer: 1 << 26 });
  spawnSync('bogofilter', ['-d', db, '-n', '-B', ...files(split.trainHam)], { maxBuffer: 1 << 26 });
  const trained = files(split.trainSpam).length + files(split.trainHam).length;
  const trainRate = trained / (Number(process.hrtime.bigint() - t0) / 1e9);
  // -T prints `<file> <S|H|U> <score>` per message.
  const classify = (dir: string) => {
    const r = spawnSync('bogofilter', ['-d', db, '-T', '-B', ...files(dir)], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(-2))
      .map(([verdict, score]) => ({ verdict, score: Number(score) }));
  };
  const t1 = process.hrtime.bigint();
  const spam = classify(split.testSpam);
  const ham = classify(split.testHam);
  const classifyRate = (spam.length + ham.length) / (Number(process.hrtime.bigint() - t1) / 1e9);
  const n = (list: { verdict: string }[], v: string) => list.filter((x) => x.verdict === v).length;
  out(
    `bogofilter: ham→spam ${pct3(n(ham, 'S') / ham.length)} (${n(ham, 'S')}), spam→ham ${pct3(n(spam, 'H') / spam.length)} (${n(spam, 'H')}), unsure ${pct3((n(ham, 'U') + n(spam, 'U')) / (ham.length + spam.length))}; train ${trainRate.toFixed(0)} msg/s, classify ${classifyRate.toFixed(0)} msg/s`,
  );
  return { spam: spam.map((x) => x.score), ham: ham.map((x) => x.score), hamAsSpam: n(ham, 'S'), unsure: n(ham, 'U') + n(spam, 'U') };
}

/**
 * Each filter at the other's unsure rate (see cutoffs.ts): the fewest spam→ham it could
 * reach with cutoffs picked knowing the test answers, calling no more ham spam and leaving no
 * more mail unsure than the other filter did with its shipped cutoffs.
 */
function sameUnsure(ours: Scores, oursShipped: { hamAsSpam: number; unsure: number }, theirs: Scores & { hamAsSpam: number; unsure: number }): void {
  const total = ours.spam.length + ours.ham.length;
  const line = (who: string, scores: Scores, limits: { hamAsSpam: number; unsure: number }, whose: string) => {
    const best = bestCutoffs(scores.spam, scores.ham, { maxHamAsSpam: limits.hamAsSpam, maxUnsure: limits.unsure });
    const at = `unsure <= ${pct3(limits.unsure / total)}, ham→spam <= ${limits.hamAsSpam} (${whose})`;
    if (!best) return out(`  ${who} at ${at}: no cutoffs get there`);
    out(`  ${who} at ${at}: spam→ham ${pct3(best.spamAsHam / scores.spam.length)} (${best.spamAsHam}), unsure ${pct3(best.unsure / total)}, ham→spam ${best.hamAsSpam} (cutoffs ${best.hamCutoff} / ${best.spamCutoff})`);
  };
  out('at the same unsure rate (cutoffs chosen on the test mail itself: the best any tuning could do):');
  line('bogofilter', theirs, oursShipped, "helpdesk's");
  line('bogofilter', theirs, { hamAsSpam: theirs.hamAsSpam, unsure: oursShipped.unsure }, "helpdesk's unsure, bogofilter's own ham→spam");
  line('helpdesk  ', ours, theirs, "bogofilter's");
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
