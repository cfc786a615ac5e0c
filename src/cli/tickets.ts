import { DateTime } from 'luxon';
import type { Command } from 'commander';
import { EDITABLE, planChange } from '../pipeline/changes';
import { ratingLabel } from '../pipeline/ratings';
import { STATUSES } from '../config/schema';
import { locations, openAll, out, positiveInt } from './common';
import { openCliDesk } from './desk';
import { table, utcMinute } from '../lib/text-table';
import { CliExit, EXIT } from './exit-codes';
import { FILTERS, SearchQueryError } from '../search/query';
import { ticketQuery } from '../search/tickets';
import { checkSearchIndex, rebuildSearchIndex } from '../store/search';

/** A bad query is a usage error (exit 64) with the parser's sentence. */
function usage<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw asUsage(err);
  }
}

async function usageAsync<T>(run: () => Promise<T>): Promise<T> {
  return run().catch((err: unknown) => {
    throw asUsage(err);
  });
}

const asUsage = (err: unknown): unknown => (err instanceof SearchQueryError ? new CliExit(EXIT.USAGE, err.message) : err);

export function registerTickets(program: Command): void {
  const tickets = program.command('tickets').description('list, inspect and change tickets');
  registerTicketSet(tickets);

  tickets
    .command('list')
    .description('list tickets, newest first')
    .argument('[filters]', `filters of the search language, e.g. 'status:open assignee:ana tag:vip' (${FILTERS.join(', ')})`)
    .option('--status <status>', `only tickets with this status (${STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', positiveInt('--limit'))
    .option('--json', 'a JSON array')
    .action(async (filters: string | undefined, opts: { status?: string; limit?: number; json?: boolean }, cmd: Command) => {
      if (opts.status && !(STATUSES as readonly string[]).includes(opts.status)) throw new CliExit(EXIT.USAGE, `--status must be one of ${STATUSES.join(', ')}, got "${opts.status}"`);
      const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const q = usage(() => ticketQuery(desk.config, filters ?? ''));
        if (q.match) throw new CliExit(EXIT.USAGE, `"${q.words.join(' ')}": tickets list takes filters only (${FILTERS.join(', ')}); to find words use: helpdesk tickets search '${filters}'`);
        const rows = await desk.view.listTickets({ status: opts.status, limit: opts.limit, filters: q.filters });
        if (opts.json) return out(JSON.stringify(rows));
        // SPAM: the filter's verdict as staff left it; `unsure` tickets await a #notspam or #spam.
        out(table(['REF', 'STATUS', 'PRIO', 'SPAM', 'CUSTOMER', 'MSGS', 'UPDATED (UTC)', 'SUBJECT'], rows.map((t) => [t.ref, t.status, t.priority, t.spamVerdict ?? '-', t.customer ?? '', String(t.messageCount), utcMinute(t.updatedAt), t.subject])));
      } finally {
        await desk.close();
      }
    });

  tickets
    .command('search')
    .description('find tickets by the words of their messages and notes, best match first, with filters')
    .argument('<query>', `words ("a phrase", prefix*, -left-out) and filters (${FILTERS.join(', ')}), e.g. 'impresora status:open customer:@acme.example since:2026-11-01'`)
    .option('--limit <n>', 'at most this many (default 20)', positiveInt('--limit'))
    .option('--json', 'a JSON array, each ticket with its score and snippet')
    .action(async (query: string, opts: { limit?: number; json?: boolean }, cmd: Command) => {
      const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
      try {
        const hits = await usageAsync(() => desk.searchTickets(query, opts.limit ?? 20));
        if (opts.json) return out(JSON.stringify(hits));
        if (hits.length === 0) return out('no ticket found');
        for (const t of hits) {
          out(`${t.ref}  ${t.status}  ${t.customer ?? '-'}  ${utcMinute(t.updatedAt)}  ${t.subject}`);
          if (t.snippet) out(`    ${t.snippet}`);
        }
      } finally {
        await desk.close();
      }
    });

  tickets
    .command('reindex')
    .description('rebuild the search index from the stored messages (after a restore from an old backup, or when --check finds a fault)')
    .option('--check', 'only check that the index agrees with the messages')
    .action((opts: { check?: boolean }, cmd: Command) => {
      const { store } = openAll(locations(cmd), EXIT.CONFIG, { readOnly: Boolean(opts.check) });
      try {
        if (opts.check) {
          try {
            checkSearchIndex(store.db);
          } catch (err) {
            throw new CliExit(EXIT.CHECK_FAILED, `the search index does not agree with the messages (${(err as Error).message}): run helpdesk tickets reindex`);
          }
          return out('search index: in agreement with the messages');
        }
        out(`search index rebuilt: ${rebuildSearchIndex(store.db)} messages`);
      } finally {
        store.close();
      }
    });

  tickets
    .command('show')
    .description('one ticket with its participants, messages and history')
    .argument('<ref>', 'ticket reference, e.g. HD-12')
    .option('--json', 'a JSON document')
    .action(async (ref: string, opts: { json?: boolean }, cmd: Command) => {
      const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
      const config = desk.config;
      try {
        const t = await desk.view.showTicket(ref);
        if (!t) throw new CliExit(EXIT.NOT_FOUND, `no ticket ${ref}`);
        if (opts.json) return out(JSON.stringify(t, null, 2));
        out(`${t.ref}  ${t.subject}`);
        out(`status ${t.status} · priority ${t.priority} · severity ${t.severity} · category ${t.category ?? '-'} · queue ${t.queue ?? '-'} · assignee ${t.assignee ?? '-'}`);
        const org = t.organisation ? ` (${t.organisation}${t.contract ? `, contract ${t.contract}${t.slaLevel ? `, level ${t.slaLevel}` : ', not valid at arrival'}` : ', no contract'})` : '';
        out(`customer ${t.customer ?? '-'}${org} · created ${t.createdAt}`);
        // Due times on the desk's clock, with the zone, as notices show them.
        const local = (iso: string | null) => (iso ? DateTime.fromISO(iso, { zone: config.helpdesk.timezone }).toFormat('yyyy-LL-dd HH:mm ZZZZ') : '-');
        const firstDue = t.firstResponseDueAt && !t.firstResponseAt ? `answer by ${local(t.firstResponseDueAt)} · ` : '';
        out(`${firstDue}resolve by ${local(t.dueAt)}${t.pausedAt ? ` (clocks paused since ${local(t.pausedAt)}: pending)` : ''}`);
        if (t.rating) out(`rating ${t.rating.score} ${ratingLabel(config, t.rating.score)}${t.rating.comment ? ` — "${t.rating.comment}"` : ''} · ${t.rating.at ?? ''}`);
        out(`participants: ${t.participants.map((p) => `${p.email} (${p.role})`).join(', ') || '-'}`);
        // Messages and attachments are numbered as `helpdesk raw` and `attachments get` take them.
        let n = 0;
        t.messages.forEach((m, i) => {
          out('');
          out(`--- message ${i + 1} ${m.direction === 'in' ? '←' : '→'} ${m.kind} from ${m.from ?? '?'} ${m.date ?? ''} [${m.threadedBy ?? ''}]`);
          out(`Subject: ${m.subject}`);
          out(m.text.trimEnd());
          for (const a of m.attachments) out(`[attachment ${++n}] ${a.filename} (${a.contentType}, ${a.size} bytes)${a.omittedReason ? ` — not stored: ${a.omittedReason}` : ''}`);
        });
        out('');
        out('history:');
        for (const e of t.events) out(`  ${e.at} ${e.actor} ${e.type}${e.to ? ` → ${e.to}` : ''}${e.reason ? ` (${e.reason})` : ''}`);
      } finally {
        await desk.close();
      }
    });
}

export function registerTicketSet(tickets: Command): void {
  tickets
    .command('set')
    .description(`change a ticket field (${EDITABLE.join(', ')}); recorded in its history`)
    .argument('<ref>', 'ticket reference, e.g. HD-12')
    .argument('<field>', EDITABLE.join(' | '))
    .argument('<value>', 'the new value (assignee: agent address or name, or none)')
    .option('--reason <text>', 'why, for the history')
    .action(async (ref: string, field: string, value: string, opts: { reason?: string }, cmd: Command) => {
      const desk = await openCliDesk(locations(cmd));
      const config = desk.config;
      try {
        const t = await desk.view.ticketByRef(ref);
        if (!t) throw new CliExit(EXIT.NOT_FOUND, `no ticket ${ref}`);
        // A merged ticket is a closed husk whose messages live on in another: reopening or
        // reassigning it would put nobody's conversation in front of anyone.
        if (t.mergedInto !== null) {
          const into = (await desk.view.showTicket(t.ref))?.events.filter((e) => e.type === 'merged_into').at(-1)?.to ?? 'another ticket';
          throw new CliExit(EXIT.USAGE, `${t.ref} was merged into ${into}; change ${into} instead`);
        }
        const now = Date.now();
        let change;
        try {
          change = planChange(t, field, value, config, now);
        } catch (err) {
          throw new CliExit(EXIT.USAGE, (err as Error).message);
        }
        if (change.from === change.to) return out(`${t.ref}: ${field} is already ${change.to}`);
        // Marking a ticket spam, or taking it out of spam, teaches the filter: first, because
        // learning is idempotent and the change is not (once the status is spam, running the
        // command again changes nothing, so a lesson lost between the two would be lost for good).
        if (field === 'status' && (change.to === 'spam' || change.from === 'spam')) {
          const learnt = await desk.learnCorrection(t.id, change.to === 'spam' ? 'spam' : 'ham', now);
          out(`${t.ref}: spam filter ${learnt === 'no message' ? 'had nothing to learn' : `${learnt} it as ${change.to === 'spam' ? 'spam' : 'ham'}`}`);
        }
        const { told } = await desk.staffChange(t, change, `cli:${process.env.USER ?? 'admin'}`, now, opts.reason ?? null);
        out(`${t.ref}: ${field} ${change.from ?? '-'} → ${change.to ?? '-'}${change.also.dueAt !== undefined ? ` (due ${new Date(change.also.dueAt).toISOString()})` : ''}`);
        for (const m of told) out(`${t.ref}: ${m.template} queued to ${m.to}`);
      } finally {
        await desk.close();
      }
    });
}
