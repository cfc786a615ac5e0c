import type { Command } from 'commander';
import type { Logger } from '../lib/log';
import { JOBS, type JobName } from '../jobs/scheduler';
import { locations, out } from './common';
import { openCliDesk } from './desk';
import { CliExit, EXIT } from './exit-codes';

export function registerJobs(program: Command, log: Logger): void {
  const jobs = program.command('jobs').description('scheduled jobs');
  jobs
    .command('run')
    .description(`run one job now, as the daemon's schedule would (${Object.keys(JOBS).join(', ')}); mail it queues is sent by the daemon`)
    .argument('<name>', 'job name')
    .option('--json', 'the outcome as JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      if (!(name in JOBS)) throw new CliExit(EXIT.USAGE, `unknown job ${name}; jobs: ${Object.keys(JOBS).join(', ')}`);
      const desk = await openCliDesk(locations(cmd));
      try {
        const outcome = await desk.runJob(name as JobName, log);
        if (!outcome) throw new CliExit(EXIT.CONFIG, `${name} does not run on a desk on PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, WAL archiving)`);
        out(opts.json ? JSON.stringify(outcome) : Object.entries(outcome).map(([k, v]) => `${k}: ${String(v)}`).join('\n'));
      } finally {
        await desk.close();
      }
    });
}
