import type { Command } from 'commander';
import { HelpdeskError } from '../lib/errors';
import { openStore } from '../store/open';
import { locations, out } from './common';
import { runningDaemon } from './daemon-pid';
import { CliExit, EXIT } from './exit-codes';

export function registerMigrateStore(program: Command): void {
  program
    .command('migrate-store')
    .description('copy this desk (the SQLite store in --data, its raw mail and attachments) into an empty PostgreSQL database, checked by counts and hashes (stop the daemon first)')
    .requiredOption('--to <url>', 'the PostgreSQL database, e.g. "$DATABASE_URL" or postgres://helpdesk@db.example.com/helpdesk')
    .option('--json', 'what was copied, as JSON')
    .action(async (opts: { to: string; json?: boolean }, cmd: Command) => {
      const { dataDir } = locations(cmd);
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new CliExit(EXIT.USAGE, `--to takes a postgres:// URL, got "${opts.to.slice(0, 40)}"`);
      const daemon = runningDaemon(dataDir);
      if (daemon !== null) throw new CliExit(EXIT.TEMPFAIL, `a helpdesk daemon (pid ${daemon}) runs on ${dataDir}: stop it first (systemctl stop helpdesk)`);
      const store = openStore(dataDir);
      try {
        // Loaded here: PostgreSQL's client and schema are not read by every other command.
        const { copyToPostgres } = await import('../store/pg/copy');
        const report = await copyToPostgres(store, opts.to, opts.json ? undefined : out);
        if (opts.json) out(JSON.stringify(report));
        else out(`copied: ${report.tables.reduce((n, t) => n + t.rows, 0)} rows in ${report.tables.length} tables and ${report.blobs.files} files, all read back and compared`);
      } catch (err) {
        if (err instanceof HelpdeskError && err.code === 'PG_NOT_EMPTY') throw new CliExit(EXIT.USAGE, err.message);
        if (err instanceof HelpdeskError && err.code === 'PG_UNREACHABLE') throw new CliExit(EXIT.TEMPFAIL, err.message);
        if (err instanceof HelpdeskError && err.code === 'COPY_MISMATCH') throw new CliExit(EXIT.CHECK_FAILED, `${err.message}; nothing was copied`);
        throw err;
      } finally {
        store.close();
      }
    });
}
