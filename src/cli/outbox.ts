import type { Command } from 'commander';
import { listOutbox, outboxById, requeue, type OutboxEntry } from '../store/outbox';
import { locations, openAll, out, positiveInt } from './common';
import { table, utcMinute } from '../lib/text-table';
import { CliExit, EXIT } from './exit-codes';

const STATUSES = ['pending', 'sent', 'failed', 'bounced'];

/** The JSON shape of `outbox list --json` (one object per row, newest first). */
function view(r: OutboxEntry) {
  return {
    id: r.id,
    ticket: r.ref,
    template: r.template,
    to: r.recipients,
    status: r.status,
    attempts: r.attempts,
    messageId: r.messageId,
    subject: r.subject,
    createdAt: new Date(r.createdAt).toISOString(),
    nextAttemptAt: r.nextAttemptAt === null ? null : new Date(r.nextAttemptAt).toISOString(),
    sentAt: r.sentAt === null ? null : new Date(r.sentAt).toISOString(),
    lastError: r.lastError,
    bounceStatus: r.bounceStatus,
  };
}

export function registerOutbox(program: Command): void {
  const outbox = program.command('outbox').description('mail the help desk sends: queue, failures, bounces');
  outbox
    .command('list')
    .description('outbox rows, newest first')
    .option('--status <status>', `only rows with this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many (default 100)', positiveInt('--limit'))
    .option('--json', 'a JSON array')
    .action((opts: { status?: string; limit?: number; json?: boolean }, cmd: Command) => {
      if (opts.status && !STATUSES.includes(opts.status)) throw new CliExit(EXIT.USAGE, `--status must be one of ${STATUSES.join(', ')}`);
      const { store } = openAll(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const rows = listOutbox(store.db, { status: opts.status, limit: opts.limit }).map(view);
        if (opts.json) return out(JSON.stringify(rows));
        out(
          table(
            ['ID', 'STATUS', 'TRIES', 'TICKET', 'TEMPLATE', 'TO', 'CREATED (UTC)', 'LAST ERROR / SUBJECT'],
            rows.map((r) => [String(r.id), r.status, String(r.attempts), r.ticket ?? '-', r.template, r.to.join(', '), utcMinute(r.createdAt), r.lastError ?? r.subject]),
          ),
        );
      } finally {
        store.close();
      }
    });
  outbox
    .command('retry')
    .description('send a failed or bounced row again (same Message-ID); the running daemon picks it up within its poll interval')
    .argument('<id>', 'outbox row id (see `outbox list`)', positiveInt('the row id'))
    .action((n: number, _opts: unknown, cmd: Command) => {
      const { store } = openAll(locations(cmd));
      try {
        const row = outboxById(store.db, n);
        if (!row) throw new CliExit(EXIT.NOT_FOUND, `no outbox row ${n}`);
        if (!requeue(store.db, n, Date.now())) throw new CliExit(EXIT.USAGE, `outbox row ${n} is ${row.status}; only failed or bounced rows can be retried`);
        out(`outbox row ${n} (${row.template} to ${row.recipients.join(', ')}) queued again`);
      } finally {
        store.close();
      }
    });
}
