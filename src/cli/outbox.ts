import type { Command } from 'commander';
import type { OutboxEntry } from '../store/outbox';
import { locations, out, positiveInt } from './common';
import { openCliDesk } from './desk';
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
    .action(async (opts: { status?: string; limit?: number; json?: boolean }, cmd: Command) => {
      if (opts.status && !STATUSES.includes(opts.status)) throw new CliExit(EXIT.USAGE, `--status must be one of ${STATUSES.join(', ')}`);
      const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const rows = (await desk.view.listOutbox({ status: opts.status, limit: opts.limit })).map(view);
        if (opts.json) return out(JSON.stringify(rows));
        out(
          table(
            ['ID', 'STATUS', 'TRIES', 'TICKET', 'TEMPLATE', 'TO', 'CREATED (UTC)', 'LAST ERROR / SUBJECT'],
            rows.map((r) => [String(r.id), r.status, String(r.attempts), r.ticket ?? '-', r.template, r.to.join(', '), utcMinute(r.createdAt), r.lastError ?? r.subject]),
          ),
        );
      } finally {
        await desk.close();
      }
    });
  outbox
    .command('retry')
    .description('send a failed or bounced row again (same Message-ID); the running daemon picks it up within its poll interval')
    .argument('<id>', 'outbox row id (see `outbox list`)', positiveInt('the row id'))
    .action(async (n: number, _opts: unknown, cmd: Command) => {
      const desk = await openCliDesk(locations(cmd));
      try {
        const done = await desk.retryOutbox(n, Date.now());
        if (!done) throw new CliExit(EXIT.NOT_FOUND, `no outbox row ${n}`);
        const { row, requeued } = done;
        if (!requeued) throw new CliExit(EXIT.USAGE, `outbox row ${n} is ${row.status}; only failed or bounced rows can be retried`);
        out(`outbox row ${n} (${row.template} to ${row.recipients.join(', ')}) queued again`);
      } finally {
        await desk.close();
      }
    });
}
