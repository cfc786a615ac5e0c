/**
 * `npm run bench:spam [-- --validate | --train-spam P --train-ham P --test-spam P --test-ham P]`
 * Measures the spam filter the way it will be judged: on mail newer than what it learnt from.
 *
 * Default protocol (the SpamAssassin corpus in ../shared/corpus): every message is placed in
 * time by when it arrived (the mbox `From ` line the corpus keeps, else the newest Received
 * date, else the Date header: spam often forges Date); per class, the oldest 70% train and
 * the newest 30% test (hard ham counts as ham). Nothing is tuned on the test part. Then an
 * online replay: every message in arrival order is classified and then learnt with its true
 * label, as staff corrections arrive in a real desk (ours learns as the daemon does, see
 * spam/learn-policy.ts; bogofilter in its `-u` mode, with errors and unsure ones registered
 * right). bogofilter (when installed) runs both protocols in the same run. Printed for both:
 * ham→spam, spam→ham, unsure, messages/second, and spam→ham at equal unsure rates.
 * --validate never reads the test part: three rolling folds inside the older 70% (learn its
 * oldest 55/70/85%, score the next 15%) and the replay over the older 70% alone. Every
 * setting of the filter is chosen there; the default run only reports.
 * Given --train-spam/--train-ham/--test-spam/--test-ham folders, only the split protocol runs, on them.
 * Asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluate } from '../cli/spam';
import { helpdeskFileSchema } from '../config/schema';
import { classifyTokens } from '../spam/classify';
import { shouldLearn } from '../spam/learn-policy';
import { spamKey, tokenizedMessages } from '../spam/learn-files';
import { spamInput } from '../spam/spam-input';
import { tokenize } from '../spam/tokenize';
import { openStore } from '../store/open';
import { spamCounts, spamStore, sqliteSpamModel } from '../store/spam';
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

/** A corpus message placed in time. */
interface Dated {
  file: string;
  label: 'spam' | 'ham';
  arrived: number;
}

const FROM_LINE = /^From \S+\s+(\w{3} \w{3} +\d+ [\d:]+ \d{4})/;

/** When a message arrived: the mbox From line, else the newest Received date, else Date; NaN when none says. */
function arrival(bytes: Buffer): number {
  const head = bytes.subarray(0, 64 * 1024).toString('latin1');
  const line = FROM_LINE.exec(head);
  if (line) return Date.parse(`${line[1]} UTC`);
  const headers = head.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const received = [...headers.matchAll(/^received:.*;\s*(.+)$/gim)].map((m) => Date.parse(m[1])).filter((t) => !Number.isNaN(t));
  if (received.length > 0) return Math.max(...received);
  const date = /^date:\s*(.+)$/im.exec(headers);
  return date ? Date.parse(date[1]) : NaN;
}

/** Every message of the shared SpamAssassin folders, in arrival order (undated ones last, by name). */
function corpusInTime(): Dated[] {
  const root = path.resolve('../shared/corpus/spamassassin');
  const list = (d: string, label: 'spam' | 'ham') => readdirSync(path.join(root, d)).sort().map((f) => ({ file: path.join(root, d, f), label, arrived: arrival(readFileSync(path.join(root, d, f))) }));
  const all = [...list('spam', 'spam'), ...list('ham', 'ham'), ...list('hard-ham', 'ham')];
  const at = (m: Dated) => (Number.isNaN(m.arrived) ? Infinity : m.arrived);
  return all.sort((a, b) => at(a) - at(b) || a.file.localeCompare(b.file));
}

/** Per class, the files of `inTime` in arrival order. */
const filesOf = (inTime: Dated[], label: 'spam' | 'ham') => inTime.filter((m) => m.label === label).map((m) => m.file);

/** Per class, the oldest 70% (all that is ever learnt from or tuned on) and the newest 30% (the test part). */
function olderAndNewer(inTime: Dated[]): { older: Dated[]; newer: Dated[] } {
  const older: Dated[] = [];
  const newer: Dated[] = [];
  for (const label of ['spam', 'ham'] as const) {
    const ofLabel = inTime.filter((m) => m.label === label);
    const at = Math.floor(ofLabel.length * 0.7);
    older.push(...ofLabel.slice(0, at));
    newer.push(...ofLabel.slice(at));
  }
  const inOrder = new Map(inTime.map((m, i) => [m, i]));
  const byTime = (a: Dated, b: Dated) => (inOrder.get(a) ?? 0) - (inOrder.get(b) ?? 0);
  return { older: older.sort(byTime), newer: newer.sort(byTime) };
}

interface Split {
  trainSpam: string;
  trainHam: string;
  testSpam: string;
  testHam: string;
}

/** Links a split's four parts into folders under `dir`, so that both filters read exactly the same files. */
function splitFolders(dir: string, train: Dated[], test: Dated[]): Split {
  mkdirSync(dir);
  return {
    trainSpam: folderOf(dir, 'train-spam', filesOf(train, 'spam')),
    trainHam: folderOf(dir, 'train-ham', filesOf(train, 'ham')),
    testSpam: folderOf(dir, 'test-spam', filesOf(test, 'spam')),
    testHam: folderOf(dir, 'test-ham', filesOf(test, 'ham')),
  };
}

const day = (inTime: Dated[], f: string | undefined) => new Date(inTime.find((m) => m.file === f)?.arrived ?? NaN).toISOString().slice(0, 10);

/**
 * Validation folds, all inside the older 70% (the test part is never read): per class, learn
 * the oldest 55, 70 or 85% of it and score the next 15%, as time moves on in a desk. Two more
 * leave a gap of months between what is learnt and what is scored (learn the oldest 40%, score
 * the last 30%; learn the oldest 25%, score 55–85%), as when a filter meets spam of a later
 * year: there the rolling folds have too few errors left to tell two settings apart, and the
 * shipped cutoffs' spam→ham shows how a filter holds up under drift.
 */
function validationFolds(work: string, older: Dated[]): { name: string; split: Split }[] {
  const folds: { learn: number; from: number; to: number }[] = [
    { learn: 0.55, from: 0.55, to: 0.7 },
    { learn: 0.7, from: 0.7, to: 0.85 },
    { learn: 0.85, from: 0.85, to: 1 },
    { learn: 0.4, from: 0.7, to: 1 },
    { learn: 0.25, from: 0.55, to: 0.85 },
  ];
  const pct = (x: number) => Math.round(x * 100);
  return folds.map(({ learn, from, to }, i) => {
    const train: Dated[] = [];
    const test: Dated[] = [];
    for (const label of ['spam', 'ham'] as const) {
      const ofLabel = older.filter((m) => m.label === label);
      const at = (x: number) => Math.floor(ofLabel.length * x);
      train.push(...ofLabel.slice(0, at(learn)));
      test.push(...ofLabel.slice(at(from), at(to)));
    }
    const name = `fold ${i + 1} (learn the oldest ${pct(learn)}% of the older part, score ${from === learn ? `the next ${pct(to - from)}%` : `${pct(from)}–${pct(to)}%`})`;
    return { name, split: splitFolders(path.join(work, `fold-${i + 1}`), train, test) };
  });
}

/** Learns the split's training part, scores its test part with both filters and prints the comparison. */
async function runSplit(work: string, split: Split): Promise<void> {
  const store = openStore(path.join(work, 'data'));
  const model = spamStore(store);
  let trained = 0;
  const t0 = process.hrtime.bigint();
  let ours: Scores;
  let shipped: { hamAsSpam: number; unsure: number };
  try {
    for (const [label, dir] of [['spam', split.trainSpam], ['ham', split.trainHam]] as const) {
      for await (const m of tokenizedMessages([dir])) {
        if ('error' in m) continue;
        model.learn(m.key, label, m.tokens, 0);
        trained++;
      }
    }
    const trainRate = trained / (Number(process.hrtime.bigint() - t0) / 1e9);
    // The daemon reads the model into memory once per change (store/spam.ts): timed apart.
    const tLoad = process.hrtime.bigint();
    spamCounts(store, ['bench:warm']);
    const loadMs = Number(process.hrtime.bigint() - tLoad) / 1e6;
    const modelTokens = store.sqlite.prepare('select count(*) as n from spam_tokens').get() as { n: number };
    const t1 = process.hrtime.bigint();
    ours = { spam: [], ham: [] };
    const scores = ours;
    const r = await evaluate(sqliteSpamModel(store), { ...shippedCutoffs(), minTrained: 0 }, [split.testSpam], [split.testHam], (label, score) => scores[label].push(score));
    const tested = r.spam.total + r.ham.total;
    const classifyRate = tested / (Number(process.hrtime.bigint() - t1) / 1e9);
    shipped = { hamAsSpam: r.ham.asSpam, unsure: r.spam.unsure + r.ham.unsure };
    out(`trained on ${trained} messages (${modelTokens.n} tokens, read into memory in ${loadMs.toFixed(0)} ms), tested on ${r.spam.total} spam and ${r.ham.total} ham`);
    out(`helpdesk:   ham→spam ${pct3(r.hamToSpamRate)} (${r.ham.asSpam}), spam→ham ${pct3(r.spamToHamRate)} (${r.spam.asHam}), unsure ${pct3(r.unsureRate)} (ham unsure ${pct3(r.ham.unsure / r.ham.total)}); train ${trainRate.toFixed(0)} msg/s, classify ${classifyRate.toFixed(0)} msg/s (parsing included)`);
  } finally {
    store.close();
    rmSync(path.join(work, 'data'), { recursive: true, force: true });
  }
  const theirs = bogofilter(work, split);
  if (theirs) sameUnsure(ours, shipped, theirs);
}

/** The shipped defaults of config (helpdesk.yaml `spam:`). */
function shippedCutoffs(): { hamCutoff: number; spamCutoff: number } {
  const { hamCutoff, spamCutoff } = helpdeskFileSchema.parse({ helpdesk: { address: 'bench@example.test' } }).spam;
  return { hamCutoff, spamCutoff };
}

/** Both filters from empty, every message of `inTime` classified, then learnt with its true label. */
function replayBoth(work: string, inTime: Dated[], what: string): void {
  out(`online replay: ${inTime.length} messages${what} in arrival order, each learnt with its true label after it was classified`);
  replayOurs(work, inTime, shippedCutoffs());
  if (BOGOFILTER_INSTALLED) replayBogofilter(work, inTime);
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-spam-'));
  try {
    if (arg('train-spam') !== undefined) {
      await runSplit(work, { trainSpam: arg('train-spam') as string, trainHam: arg('train-ham') as string, testSpam: arg('test-spam') as string, testHam: arg('test-ham') as string });
      return;
    }
    const inTime = corpusInTime();
    const { older, newer } = olderAndNewer(inTime);
    if (process.argv.includes('--validate')) {
      out(`validation: only the older 70% per class (${older.length} messages, to ${day(inTime, older[older.length - 1].file)}); the test part is not read`);
      for (const { name, split } of validationFolds(work, older)) {
        out(name);
        await runSplit(work, split);
      }
      replayBoth(work, older, ' of the older part');
      return;
    }
    const train = (label: 'spam' | 'ham') => filesOf(older, label);
    const test = (label: 'spam' | 'ham') => filesOf(newer, label);
    out(`temporal split: train spam ${train('spam').length} (${day(inTime, train('spam')[0])} … ${day(inTime, train('spam').at(-1))}), ham ${train('ham').length} (… ${day(inTime, train('ham').at(-1))}); test spam ${test('spam').length} (from ${day(inTime, test('spam')[0])}), ham ${test('ham').length} (from ${day(inTime, test('ham')[0])})`);
    await runSplit(work, splitFolders(path.join(work, 'split'), older, newer));
    replayBoth(work, inTime, '');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const pct3 = (x: number) => `${(x * 100).toFixed(2)}%`;

interface Scores {
  spam: number[];
  ham: number[];
}

const BOGOFILTER_INSTALLED = !spawnSync('bogofilter', ['-V']).error;

/** bogofilter's test scores and what its shipped cutoffs made of them; null when not installed. */
function bogofilter(work: string, split: Split): (Scores & { hamAsSpam: number; unsure: number }) | null {
  if (!BOGOFILTER_INSTALLED) {
    out('bogofilter: not installed (apt-get install bogofilter) — no comparison');
    return null;
  }
  const db = mkdtempSync(path.join(work, 'bogo-'));
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
    `bogofilter: ham→spam ${pct3(n(ham, 'S') / ham.length)} (${n(ham, 'S')}), spam→ham ${pct3(n(spam, 'H') / spam.length)} (${n(spam, 'H')}), unsure ${pct3((n(ham, 'U') + n(spam, 'U')) / (ham.length + spam.length))} (ham unsure ${pct3(n(ham, 'U') / ham.length)}); train ${trainRate.toFixed(0)} msg/s, classify ${classifyRate.toFixed(0)} msg/s`,
  );
  return { spam: spam.map((x) => x.score), ham: ham.map((x) => x.score), hamAsSpam: n(ham, 'S'), unsure: n(ham, 'U') + n(spam, 'U') };
}

interface Tally {
  hamAsSpam: number;
  spamAsHam: number;
  unsure: number;
  learnt: number;
}

const tallyLine = (who: string, t: Tally, n: number, ms: number) =>
  out(`  ${who}: ham→spam ${t.hamAsSpam}, spam→ham ${t.spamAsHam}, unsure ${t.unsure} (${pct3(t.unsure / n)}); errors ${t.hamAsSpam + t.spamAsHam}; learnt ${t.learnt}; ${(n / (ms / 1000)).toFixed(0)} msg/s`);

function count(t: Tally, label: 'spam' | 'ham', verdict: string): void {
  if (verdict === 'unsure') t.unsure++;
  else if (label === 'ham' && verdict === 'spam') t.hamAsSpam++;
  else if (label === 'spam' && verdict === 'ham') t.spamAsHam++;
}

/** Our filter from an empty model, in a real store, learning as the daemon does (learn-policy.ts). */
function replayOurs(work: string, inTime: Dated[], cutoffs: { hamCutoff: number; spamCutoff: number }): void {
  const store = openStore(path.join(work, 'replay'));
  const model = spamStore(store);
  const t: Tally = { hamAsSpam: 0, spamAsHam: 0, unsure: 0, learnt: 0 };
  const started = process.hrtime.bigint();
  try {
    for (const m of inTime) {
      const bytes = readFileSync(m.file);
      const tokens = [...tokenize(spamInput(bytes))];
      const d = classifyTokens(tokens, spamCounts(store, tokens), model.totals(), { ...cutoffs, minTrained: 0 });
      count(t, m.label, d.verdict);
      if (shouldLearn(m.label, d.score)) {
        model.learn(spamKey(bytes), m.label, tokens, 0);
        t.learnt++;
      }
    }
  } finally {
    store.close();
  }
  tallyLine('helpdesk  ', t, inTime.length, Number(process.hrtime.bigint() - started) / 1e6);
}

/** bogofilter from an empty database in `-u` mode: it learns its own sure verdicts; errors and unsure ones are registered right. */
function replayBogofilter(work: string, inTime: Dated[]): void {
  const db = path.join(work, 'bogo-replay');
  mkdirSync(db);
  const t: Tally = { hamAsSpam: 0, spamAsHam: 0, unsure: 0, learnt: 0 };
  const started = process.hrtime.bigint();
  for (const m of inTime) {
    const r = spawnSync('bogofilter', ['-d', db, '-u', '-T', '-I', m.file], { encoding: 'utf8' });
    const letter = r.stdout.trim().split(/\s+/).find((w) => w === 'S' || w === 'H' || w === 'U');
    const verdict = letter === 'S' ? 'spam' : letter === 'H' ? 'ham' : 'unsure';
    count(t, m.label, verdict);
    // -u registered a sure verdict as it was: undo a wrong one and register the right label; register an unsure one.
    const fix = verdict === 'unsure' ? (m.label === 'spam' ? '-s' : '-n') : verdict !== m.label ? (m.label === 'spam' ? '-Ns' : '-Sn') : null;
    if (verdict !== 'unsure' && verdict === m.label) t.learnt++;
    if (fix) {
      spawnSync('bogofilter', ['-d', db, fix, '-I', m.file]);
      t.learnt++;
    }
  }
  tallyLine('bogofilter', t, inTime.length, Number(process.hrtime.bigint() - started) / 1e6);
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
  // The lines above give one filter hindsight and hold the other to its shipped cutoffs; here
  // both get hindsight, at the same unsure rates and no ham called spam: whose scores separate
  // the new mail better, whatever cutoffs are shipped.
  out('both with cutoffs chosen on the test mail, no ham called spam: spam→ham at each unsure rate (helpdesk / bogofilter):');
  const at = (scores: Scores, unsure: number) => bestCutoffs(scores.spam, scores.ham, { maxHamAsSpam: 0, maxUnsure: Math.floor(unsure * total) })?.spamAsHam;
  const shown = (n: number | undefined) => (n === undefined ? '–' : String(n));
  out(`  ${[0.02, 0.04, 0.06, 0.08, 0.1, 0.15].map((u) => `${(u * 100).toFixed(0)}%: ${shown(at(ours, u))} / ${shown(at(theirs, u))}`).join(', ')} (of ${ours.spam.length} spam)`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
