import type { Command } from 'commander';
import type { Logger } from '../lib/log';
import { JOBS, runJob, type JobName } from '../jobs/scheduler';
import { locations, openAll, out } from './common';
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
      const { config, store } = openAll(locations(cmd));
      try {
        const outcome = await runJob(name as JobName, store, config, log);
        out(opts.json ? JSON.stringify(outcome) : Object.entries(outcome).map(([k, v]) => `${k}: ${String(v)}`).join('\n'));
      } finally {
        store.close();
      }
    });
}
