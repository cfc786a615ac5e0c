import type { Command } from 'commander';
import v8 from 'node:v8';
import { ConfigError } from '../config/load';
import type { Logger } from '../lib/log';
import { locations } from './common';
import { claimDaemonPid } from './daemon-pid';
import { CliExit, EXIT } from './exit-codes';

const STOP_DEADLINE_MS = 10_000;

/**
 * How far V8 lets the heap grow past what is live before it collects again, which V8 otherwise
 * chooses from its measured collection and allocation speeds, up to four times: bench:imap's
 * daemon peaked at 420-425 MB in some runs (160-185 MB of heap for ~60 MB live, plus the
 * message buffers the garbage holds outside it) and ~340 MB in others, on the same code and
 * machine. Growing by at most 30% each time it stayed at 330-345 MB in every run, its drain
 * rate within noise (10%: ~325 MB and ~10% slower). A V8 option, set before the daemon's
 * modules load; V8 reads it at each collection, in every thread (the parse worker too). Were
 * a later Node's V8 not to know it, it names it on stderr and goes on.
 */
const HEAP_GROWING_PERCENT = 30;

export function registerStart(program: Command, log: Logger): void {
  program
    .command('start')
    .description('run the daemon: one source per configured mailbox')
    .action(async (_opts: unknown, cmd: Command) => {
      const where = locations(cmd);
      const pid = claimDaemonPid(where.dataDir);
      if ('heldBy' in pid) throw new CliExit(EXIT.TEMPFAIL, `a helpdesk daemon (pid ${pid.heldBy}) already runs on ${where.dataDir}; two would take the same mail twice`);
      process.once('exit', () => pid.release());
      v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
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
