import type { Command } from 'commander';
import { mailboxStateStore } from '../store/mailbox-state';
import { locations, openAll, out } from './common';
import { table } from '../lib/text-table';
import { CliExit, EXIT } from './exit-codes';

/** Exit code of `status` when a mailbox is unhealthy, for monitoring scripts. */
const UNHEALTHY = 2;

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per mailbox: state, last successful check, last error, backlog, last UID; exit 2 when one is unhealthy')
    .option('--json', 'a JSON array')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const { config, store } = openAll(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const now = Date.now();
        const rows = mailboxStateStore(store.db).list();
        const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
        const report = config.mailboxes.map((m) => {
          const r = rows.find((row) => row.mailbox === m.id);
          // A check is due every poll interval at the latest; allow the alert time on top.
          const limit = config.health.alertAfter + m.pollInterval;
          const healthy = !!r?.lastCheckAt && now - r.lastCheckAt <= limit;
          return {
            mailbox: m.id,
            kind: m.imap ? 'imap' : 'maildir',
            state: r?.state ?? 'never started',
            healthy,
            lastCheckAt: iso(r?.lastCheckAt),
            lastError: r?.lastError ?? null,
            lastErrorAt: iso(r?.lastErrorAt),
            backlog: r?.backlog ?? null,
            lastUid: m.imap ? (r?.lastUid ?? null) : null,
            uidValidity: m.imap ? (r?.uidValidity ?? null) : null,
          };
        });
        if (opts.json) out(JSON.stringify(report));
        else
          out(
            table(
              ['MAILBOX', 'KIND', 'STATE', 'HEALTH', 'LAST CHECK', 'BACKLOG', 'LAST UID', 'LAST ERROR'],
              report.map((r) => [r.mailbox, r.kind, r.state, r.healthy ? 'ok' : 'UNHEALTHY', r.lastCheckAt ?? '-', String(r.backlog ?? '-'), String(r.lastUid ?? '-'), r.lastError ? `${r.lastErrorAt} ${r.lastError}` : '-']),
            ),
          );
        if (report.some((r) => !r.healthy)) throw new CliExit(UNHEALTHY, 'at least one mailbox is unhealthy');
      } finally {
        store.close();
      }
    });
}
