import type { Command } from 'commander';
import { HelpdeskError } from '../lib/errors';
import { restoreDatabase } from '../store/restore';
import { locations, out } from './common';
import { runningDaemon } from './daemon-pid';
import { CliExit, EXIT } from './exit-codes';

export function registerBackup(program: Command): void {
  const backup = program.command('backup').description('restore the database from a backup (backups are made by the backup job: jobs run backup)');
  backup
    .command('restore')
    .description('put a backup in place of the database; the one it replaces is kept beside it (stop the daemon first)')
    .argument('<file>', 'a backup, e.g. data/backups/helpdesk-2026-12-01T03-30-00-000Z.sqlite')
    .option('--json', 'what was restored, as JSON')
    .action((file: string, opts: { json?: boolean }, cmd: Command) => {
      const { dataDir } = locations(cmd);
      const daemon = runningDaemon(dataDir);
      if (daemon !== null) throw new CliExit(EXIT.TEMPFAIL, `a helpdesk daemon (pid ${daemon}) runs on ${dataDir}: stop it first (systemctl stop helpdesk)`);
      let result;
      try {
        result = restoreDatabase(dataDir, file, Date.now());
      } catch (err) {
        if (err instanceof HelpdeskError && err.code === 'BAD_BACKUP') throw new CliExit(EXIT.USAGE, err.message);
        throw err;
      }
      if (opts.json) {
        out(JSON.stringify(result));
        return;
      }
      out(`restored ${result.restoredFrom}: ${result.tickets} tickets, ${result.messages} messages, the newest from ${result.newestMessageAt ?? '-'}`);
      out(result.previous ? `the database it replaced is kept as ${result.previous}` : 'there was no database before');
      if (result.missingFiles > 0) out(`warning: ${result.missingFiles} raw mail or attachment file(s) the restored rows name are not in ${dataDir} (restore raw/ and attachments/ from your file backup)`);
      if (result.unknownRawList) {
        out(`${result.unknownRawMails} raw mail(s) in ${dataDir}/raw arrived after the backup and are not in the restored desk; they are listed, oldest first, in ${result.unknownRawList}`);
        out(`to take them in again (their tickets and notifications are made anew): xargs -d '\\n' helpdesk ingest < ${result.unknownRawList}`);
      }
    });
}
