import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { classifyTokens, formatScore } from '../spam/classify';
import { tokenizedMessages } from '../spam/learn-files';
import type { SpamModel } from '../spam/model';
import type { SpamLabel } from '../store/spam';
import { locations, out } from './common';
import { openCliDesk } from './desk';
import { fileProgress } from './progress';
import { CliExit, EXIT } from './exit-codes';

const collect = (v: string, prev: string[]) => [...prev, v];

function requirePaths(paths: string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new CliExit(EXIT.USAGE, `no such file or directory: ${missing.join(', ')}`);
}

export function registerSpam(program: Command): void {
  const spam = program.command('spam').description('train, test and evaluate the Bayes spam filter');

  spam
    .command('train')
    .description('learn messages as spam or ham (files, folders, mbox, Maildir); one learnt the other way is relearnt')
    .option('--spam <path>', 'spam to learn (repeatable)', collect, [])
    .option('--ham <path>', 'ham to learn (repeatable)', collect, [])
    .option('--json', 'the summary as JSON')
    .action(async (opts: { spam: string[]; ham: string[]; json?: boolean }, cmd: Command) => {
      if (opts.spam.length + opts.ham.length === 0) throw new CliExit(EXIT.USAGE, 'give --spam PATH and/or --ham PATH');
      requirePaths([...opts.spam, ...opts.ham]);
      const desk = await openCliDesk(locations(cmd));
      try {
        const model = desk.spamModel;
        const summary = { learnt: 0, relearnt: 0, already: 0, unreadable: 0, totals: { spam: 0, ham: 0 } };
        for (const [label, paths] of [['spam', opts.spam], ['ham', opts.ham]] as [SpamLabel, string[]][]) {
          if (paths.length === 0) continue;
          const progress = fileProgress(`learning ${label}`, paths);
          try {
            for await (const m of tokenizedMessages(paths)) {
              progress.message(m.raw.source);
              if ('error' in m) {
                summary.unreadable++;
                process.stderr.write(`helpdesk: ${m.raw.source}${m.raw.position ?? ''}: not learnt: ${m.error}\n`);
                continue;
              }
              summary[await model.learn(m.key, label, m.tokens, Date.now())]++;
            }
          } finally {
            progress.stop();
          }
        }
        summary.totals = await model.totals();
        if (opts.json) return out(JSON.stringify(summary));
        out(`learnt ${summary.learnt}, relearnt ${summary.relearnt}, already known ${summary.already}, unreadable ${summary.unreadable}; model holds ${summary.totals.spam} spam and ${summary.totals.ham} ham`);
      } finally {
        await desk.close();
      }
    });

  spam
    .command('classify')
    .description('score messages with the current model')
    .argument('<files...>', 'message files, folders, mbox files')
    .option('--json', 'one {"source", "verdict", "score"} per line')
    .action(async (files: string[], opts: { json?: boolean }, cmd: Command) => {
      requirePaths(files);
      const desk = await openCliDesk(locations(cmd));
      try {
        const totals = await desk.spamModel.totals();
        for await (const m of tokenizedMessages(files)) {
          const source = `${m.raw.source}${m.raw.position ?? ''}`;
          if ('error' in m) {
            out(opts.json ? JSON.stringify({ source, verdict: null, score: null, error: m.error }) : `${source}: unreadable (${m.error})`);
            continue;
          }
          const d = classifyTokens(m.tokens, await desk.spamModel.counts(m.tokens), totals, desk.config.spam);
          out(opts.json ? JSON.stringify({ source, verdict: d.verdict, score: d.score }) : `${source}: ${d.verdict} ${formatScore(d.score)} — ${d.reason}`);
        }
      } finally {
        await desk.close();
      }
    });

  spam
    .command('eval')
    .description('classify known spam and ham and report error rates')
    .requiredOption('--spam <path>', 'known spam (repeatable)', collect, [])
    .requiredOption('--ham <path>', 'known ham (repeatable)', collect, [])
    .option('--json', 'the figures as JSON')
    .action(async (opts: { spam: string[]; ham: string[]; json?: boolean }, cmd: Command) => {
      if (opts.spam.length === 0 || opts.ham.length === 0) throw new CliExit(EXIT.USAGE, 'give both --spam PATH and --ham PATH: rates need known spam and known ham');
      requirePaths([...opts.spam, ...opts.ham]);
      const desk = await openCliDesk(locations(cmd));
      try {
        const result = await evaluate(desk.spamModel, desk.config.spam, opts.spam, opts.ham);
        if (opts.json) return out(JSON.stringify(result));
        out(`ham: ${result.ham.total} — ${result.ham.asSpam} as spam (${pct(result.hamToSpamRate)}), ${result.ham.unsure} unsure`);
        out(`spam: ${result.spam.total} — ${result.spam.asHam} as ham (${pct(result.spamToHamRate)}), ${result.spam.unsure} unsure`);
        out(`unsure overall: ${pct(result.unsureRate)}`);
      } finally {
        await desk.close();
      }
    });
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** `onScore` is told every readable message's score (bench:spam compares filters with them). */
export async function evaluate(
  model: SpamModel,
  config: { hamCutoff: number; spamCutoff: number; minTrained: number },
  spamPaths: string[],
  hamPaths: string[],
  onScore?: (label: 'spam' | 'ham', score: number) => void,
) {
  const totals = await model.totals();
  const tally = async (paths: string[], label: 'spam' | 'ham') => {
    const t = { total: 0, asSpam: 0, asHam: 0, unsure: 0, unreadable: 0 };
    for await (const m of tokenizedMessages(paths)) {
      if ('error' in m) {
        t.unreadable++;
        continue;
      }
      t.total++;
      const { verdict: v, score } = classifyTokens(m.tokens, await model.counts(m.tokens), totals, config);
      onScore?.(label, score);
      if (v === 'spam') t.asSpam++;
      else if (v === 'ham') t.asHam++;
      else t.unsure++;
    }
    return t;
  };
  const spam = await tally(spamPaths, 'spam');
  const ham = await tally(hamPaths, 'ham');
  return {
    spam,
    ham,
    hamToSpamRate: ham.total ? ham.asSpam / ham.total : 0,
    spamToHamRate: spam.total ? spam.asHam / spam.total : 0,
    unsureRate: spam.total + ham.total ? (spam.unsure + ham.unsure) / (spam.total + ham.total) : 0,
  };
}
