import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { Logger } from '../lib/log';
import { sha256Hex } from '../lib/hash';
import { runStages } from '../pipeline/run';
import { answersFor } from '../knowledge/answers';
import type { Draft } from '../pipeline/types';
import { locations, out } from './common';
import { openCliDesk } from './desk';
import { CliExit, EXIT } from './exit-codes';

export function registerRules(program: Command, log: Logger): void {
  const rules = program.command('rules').description('routing rules');
  rules
    .command('test')
    .description('run the pipeline on a message without writing anything, and print every decision with its reason')
    .argument('<file>', 'a message file (.eml)')
    .option('--json', 'the decision as JSON')
    .action(async (file: string, opts: { json?: boolean }, cmd: Command) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new CliExit(EXIT.USAGE, `cannot read ${file}: ${(err as Error).message}`);
      }
      const desk = await openCliDesk(locations(cmd));
      const config = desk.config;
      try {
        const now = Date.now;
        const draft = await runStages(
          { raw: { bytes, source: file, position: null, mailbox: null }, rawSha256: sha256Hex(bytes), rawPath: '', receivedAt: now() },
          { config, store: desk.reader, now, log, categoryModel: await desk.categoryModel(), answers: () => answersFor(config) },
        );
        const decision = explain(draft);
        if (opts.json) return out(JSON.stringify(decision, null, 2));
        out(humanReadable(decision));
      } finally {
        await desk.close();
      }
    });
}

/** The decision object (`rules test --json`): every stage's result with its reason. */
export function explain(d: Draft) {
  const r = d.route;
  const a = d.assignment;
  return {
    outcome: d.stop ? { outcome: d.stop.outcome, reason: d.stop.reason, ticket: d.stop.ticket } : { outcome: d.thread?.ticket ? 'appended' : 'created', reason: null, ticket: d.thread?.ticket?.ref ?? null },
    classification: d.classification ? { value: d.classification.kind, bulk: d.classification.bulk, reason: d.classification.reason } : null,
    spam: d.spam ? { verdict: d.spam.verdict, score: d.spam.score, reason: d.spam.reason, actedOn: !d.thread?.ticket } : null,
    thread: d.thread ? { ticket: d.thread.ticket?.ref ?? null, threadedBy: d.thread.threadedBy, reason: d.thread.reason, linkTo: d.thread.linkTo?.ref ?? null } : null,
    actor: d.actor ? { role: d.actor.role, address: d.actor.address, reason: d.actor.reason, trustWarning: d.actor.trustWarning, participants: d.actor.participants.map((p) => p.address) } : null,
    rule: r ? { matched: r.rules } : null,
    category: r ? { value: r.category.value, reason: r.category.reason, predicted: r.category.source === 'predicted', confidence: r.category.confidence } : null,
    priority: r?.priority ?? null,
    severity: r?.severity ?? null,
    queue: r?.queue ?? null,
    tags: r?.tags ?? [],
    assignee: a ? { value: a.assignee, reason: a.reason } : null,
    dueAt: d.newTicket ? { value: new Date(d.newTicket.dueAt).toISOString(), reason: d.newTicket.reasons.dueAt } : null,
    notifications: d.notify ? { send: d.notify.mails.map((m) => ({ template: m.template, to: m.to, locale: m.locale, reason: m.reason })), withheld: d.notify.withheld, floodWarning: d.notify.floodWarning, quiet: d.notify.quiet } : null,
    bounce: d.bounce ? { outbox: d.bounce.outbox?.id ?? null, status: d.bounce.report.status, recipient: d.bounce.report.recipient, hard: d.bounce.report.hard, reason: d.bounce.reason } : null,
  };
}

function humanReadable(e: ReturnType<typeof explain>): string {
  const lines = [`outcome: ${e.outcome.outcome}${e.outcome.ticket ? ` ${e.outcome.ticket}` : ''}${e.outcome.reason ? ` (${e.outcome.reason})` : ''}`];
  if (e.thread) lines.push(`thread: ${e.thread.threadedBy}${e.thread.ticket ? ` ${e.thread.ticket}` : ''} — ${e.thread.reason}`);
  if (e.actor) lines.push(`actor: ${e.actor.role} ${e.actor.address ?? ''} — ${e.actor.reason}`);
  if (e.rule) {
    if (e.rule.matched.length === 0) lines.push('rules: none matched');
    for (const m of e.rule.matched) lines.push(`rule "${m.name}" matched: ${m.why.join('; ') || 'no conditions'}`);
  }
  for (const [k, v] of [['category', e.category], ['priority', e.priority], ['severity', e.severity], ['queue', e.queue], ['assignee', e.assignee], ['due', e.dueAt]] as const) {
    if (v) lines.push(`${k}: ${v.value ?? '-'} — ${v.reason}`);
  }
  const n = e.notifications;
  if (n?.quiet) lines.push(`notifications: none — ${n.quiet}`);
  for (const m of n?.send ?? []) lines.push(`would send ${m.template} to ${m.to} (${m.locale}) — ${m.reason}`);
  for (const w of n?.withheld ?? []) lines.push(`withheld: ${w}`);
  if (n?.floodWarning) lines.push(`flood warning: ${n.floodWarning}`);
  if (e.bounce) lines.push(`bounce: ${e.bounce.reason}`);
  return lines.join('\n');
}
