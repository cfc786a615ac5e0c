import type { Command } from 'commander';
import { mailboxStateStore, type MailboxStateRow } from '../store/mailbox-state';
import { configAt, locations, openAll, out } from './common';
import { table } from '../lib/text-table';
import { CliExit, EXIT } from './exit-codes';

/** Exit code of `status` when a mailbox is unhealthy, for monitoring scripts. */
const UNHEALTHY = 2;

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per mailbox: state, last successful check, last error, backlog, last UID; exit 2 when one is unhealthy')
    .option('--json', 'a JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const where = locations(cmd);
      const config = configAt(where, EXIT.CONFIG, { readOnly: true });
      let rows: MailboxStateRow[];
      let leases: Map<string, { holder: string; ageMs: number; expired: boolean }> | null = null;
      if (config.store.postgres) {
        // Loaded only here: no other reading of the status needs PostgreSQL's client.
        const { clusterStatus } = await import('./status-postgres');
        ({ rows, leases } = await clusterStatus(config.store.postgres.url));
      } else {
        const store = openAll(where, EXIT.CONFIG, { readOnly: true }).store;
        try {
          rows = mailboxStateStore(store.db).list();
        } finally {
          store.close();
        }
      }
      const now = Date.now();
      const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
      const report = config.mailboxes.map((m) => {
        const r = rows.find((row) => row.mailbox === m.id);
        // A check is due every poll interval at the latest; allow the alert time on top.
        const limit = config.health.alertAfter + m.pollInterval;
        const healthy = !!r?.lastCheckAt && now - r.lastCheckAt <= limit;
        const lease = leases?.get(m.id);
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
          ...(leases ? { holder: lease && !lease.expired ? lease.holder : null, leaseAgeSeconds: lease ? Math.round(lease.ageMs / 1000) : null } : {}),
        };
      });
      if (opts.json) out(JSON.stringify(report));
      else {
        const cluster = (r: (typeof report)[number]) => (leases ? [r.holder ?? '-', r.leaseAgeSeconds === null || r.leaseAgeSeconds === undefined ? '-' : `${r.leaseAgeSeconds}s`] : []);
        out(
          table(
            ['MAILBOX', 'KIND', 'STATE', 'HEALTH', ...(leases ? ['HELD BY', 'LEASE AGE'] : []), 'LAST CHECK', 'BACKLOG', 'LAST UID', 'LAST ERROR'],
            report.map((r) => [r.mailbox, r.kind, r.state, r.healthy ? 'ok' : 'UNHEALTHY', ...cluster(r), r.lastCheckAt ?? '-', String(r.backlog ?? '-'), String(r.lastUid ?? '-'), r.lastError ? `${r.lastErrorAt} ${r.lastError}` : '-']),
          ),
        );
      }
      if (report.some((r) => !r.healthy)) throw new CliExit(UNHEALTHY, 'at least one mailbox is unhealthy');
    });
}
