import type { Command } from 'commander';
import { ConfigError } from '../config/load';
import type { Logger } from '../lib/log';
import { locations } from './common';
import { claimDaemonPid } from './daemon-pid';
import { CliExit, EXIT } from './exit-codes';

const STOP_DEADLINE_MS = 10_000;

export function registerStart(program: Command, log: Logger): void {
  program
    .command('start')
    .description('run the daemon: one source per configured mailbox')
    .action(async (_opts: unknown, cmd: Command) => {
      const where = locations(cmd);
      const pid = claimDaemonPid(where.dataDir);
      if ('heldBy' in pid) throw new CliExit(EXIT.TEMPFAIL, `a helpdesk daemon (pid ${pid.heldBy}) already runs on ${where.dataDir}; two would take the same mail twice`);
      process.once('exit', () => pid.release());
      let daemon;
      try {
        // The daemon's modules (IMAP, SMTP, templates, jobs) load only for `start`: every other
        // command, an MTA's pipe into `helpdesk ingest` above all, starts without them.
        const { startConfiguredDaemon } = await import('../main');
        daemon = await startConfiguredDaemon(where, log);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliExit(EXIT.CONFIG, `invalid configuration:\n${err.message}`);
        throw err;
      }
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          log.info({ signal }, 'stopping');
          // Never hang: a stuck connection must not keep systemd waiting past its timeout.
          setTimeout(() => {
            log.error('stop took longer than 10 s; exiting anyway');
            process.exit(1);
          }, STOP_DEADLINE_MS).unref();
          void daemon.stop().then(resolve);
        };
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      });
    });
}
