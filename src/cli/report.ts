import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { zonedTime } from '../lib/local-time';
import { computeReport } from '../report/figures';
import { reportHtml } from '../report/html';
import { reportText } from '../report/text';
import { locations, out } from './common';
import { openCliDesk } from './desk';
import { CliExit, EXIT } from './exit-codes';

/** Midnight (in the help desk's time zone) starting a YYYY-MM-DD day. */
function dayStart(date: string, tz: string, option: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  // A real calendar day: 2026-13-45 is not one (Date would roll it over into 2027).
  const real = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !real || real.getUTCMonth() !== Number(m[2]) - 1 || real.getUTCDate() !== Number(m[3])) throw new CliExit(EXIT.USAGE, `${option} expects a date such as 2026-11-01, got ${date}`);
  return zonedTime(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 0, 0, tz);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('tickets, response and resolution times, SLA compliance, ratings, spam and agents over a period')
    .option('--since <date>', 'first day (YYYY-MM-DD, in helpdesk.timezone); default 30 days before --until')
    .option('--until <date>', 'last day, included (YYYY-MM-DD); default today')
    .option('--json', 'all figures as one JSON document')
    .option('--html <file>', 'also write a self-contained html page with charts')
    .action(async (opts: { since?: string; until?: string; json?: boolean; html?: string }, cmd: Command) => {
      const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const { config } = desk;
        const tz = config.helpdesk.timezone;
        const now = Date.now();
        const until = opts.until ? dayStart(opts.until, tz, '--until') + 86_400_000 : now;
        const since = opts.since ? dayStart(opts.since, tz, '--since') : until - 30 * 86_400_000;
        if (since >= until) throw new CliExit(EXIT.USAGE, '--since must be before --until');
        const report = computeReport(await desk.view.reportRows(since, until), config, since, until, now);
        if (opts.html) {
          try {
            writeFileSync(opts.html, reportHtml(report, `${config.helpdesk.name} — help desk report`));
          } catch (err) {
            throw new CliExit(EXIT.USAGE, `cannot write --html ${opts.html}: ${(err as Error).message}`);
          }
        }
        out(opts.json ? JSON.stringify(report, null, 2) : reportText(report));
      } finally {
        await desk.close();
      }
    });
}
