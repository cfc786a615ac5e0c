import { readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { silentLogger } from '../../src/lib/log';
import { backup, backupDir } from '../../src/jobs/backup';
import { startScheduler } from '../../src/jobs/scheduler';
import { planChange } from '../../src/pipeline/changes';
import { runCli } from '../helpers/cli';
import { tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';
import { smtpDesks, type Desk } from '../helpers/smtp-desk';
import { sqliteOnly, TEST_STORE } from '../helpers/test-store';

const AGENTS = `trust: { mode: from-header }
agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
  - { name: Bob, email: bob@example.test, groups: [software] }
groups:
  - { name: software, members: [] }
`;
const RULES = `rules:
  - { name: to Bob, when: {}, then: { queue: software, assign: { agent: bob@example.test } } }
`;
const HOUR = 3_600_000;

const fx = smtpDesks({ files: { agents: AGENTS, rules: RULES } });
const desk = (files: { dataDir?: string; clock?: { now: number }; locale?: string } = {}, extra = 'sla: { medium: 4h }\n'): Desk => fx.open({ files, extra });
const closeDesk = (d: Desk) => fx.close(d);

/** A ticket's events (or every ticket's), from whichever store the desk is on. */
const eventsOf = async (d: Desk, ref?: string) => (await d.view.listEvents()).filter((e) => !ref || e.ref === ref);

const templatesTo = (address: string) => fx.sink.messages.filter((m) => m.to.includes(address)).map((m) => m.parsed.subject ?? '');

describe('SLA warning and breach', () => {
  it('sends exactly one warning then one breach, and a restart in between resends nothing', async () => {
    let d = desk();
    const created = d.clock.now;
    await d.ingest(buildMail({ subject: 'Printer broken' }));
    await d.send();
    fx.sink.messages.length = 0;

    d.clock.now = created + 2 * HOUR; // 50% of 4 h: nothing yet
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 0 });
    d.clock.now = created + 3 * HOUR + 60_000; // past 75%
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 0 });
    await d.send();
    expect(fx.sink.messages.map((m) => m.to)).toEqual([['bob@example.test']]);
    expect(fx.sink.messages[0].parsed.text).toContain('must be resolved by');

    // The daemon restarts: the next check finds nothing new to send (on SQLite the scheduler's
    // catch-up run at start; a daemon on PostgreSQL has no catch-up, its next tick does it).
    const { dataDir, clock } = d;
    await closeDesk(d);
    d = desk({ dataDir, clock });
    if (TEST_STORE === 'sqlite') {
      const logs: string[] = [];
      const log = silentLogger();
      log.info = ((obj: { job?: string; warnings?: number }, msg?: string) => logs.push(`${obj.job} ${msg} ${obj.warnings ?? ''}`)) as typeof log.info;
      const scheduler = startScheduler(d.store, () => d.config, log, { now: () => d.clock.now });
      await scheduler.started;
      expect(logs).toContain('slaCheck job finished 0');
      expect(await scheduler.run('slaCheck')).toEqual({ warnings: 0, breaches: 0 });
      await scheduler.stop();
    }
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 0 });

    d.clock.now = created + 4 * HOUR + 60_000;
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 1 });
    expect(await d.runJob('slaCheck', d.clock.now + HOUR)).toEqual({ warnings: 0, breaches: 0 });
    await d.send();
    // The breach escalates to the queue's admin as well as the assignee.
    expect(templatesTo('bob@example.test')).toHaveLength(2);
    expect(templatesTo('ana@example.test')).toHaveLength(1);
    expect(fx.sink.messages.at(-1)?.parsed.text).toContain('missed its SLA for resolution');
    const types = (await eventsOf(d, 'HD-1')).map((e) => e.type);
    expect(types.filter((t) => t.startsWith('sla_'))).toEqual(['sla_warning', 'sla_breach']);
  });

  it('warns again after a severity change, once for the new severity', async () => {
    const d = desk();
    await d.ingest(buildMail({}));
    d.clock.now += 3.5 * HOUR;
    expect((await d.runJob('slaCheck', d.clock.now))?.warnings).toBe(1);
    const t = await d.view.ticketByRef('HD-1');
    if (!t) throw new Error('no ticket');
    await d.staffChange(t, planChange(t, 'severity', 'critical', d.config, d.clock.now), 'agent:ana@example.test', d.clock.now, null);
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 0 });
  });

  it('an answered critical ticket that is not resolved breaches its resolution clock; both breaches are recorded, in the thread', async () => {
    const d = desk({}, 'sla: { critical: 4h, firstResponse: { critical: 1h } }\n');
    const created = d.clock.now;
    await d.ingest(buildMail({ messageId: '<down@customer.test>', subject: 'Server down' }));
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ severity: 'critical', dueAt: created + 4 * HOUR, firstResponseDueAt: created + HOUR });
    d.clock.now = created + 50 * 60_000; // past 75% of the hour to answer
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    d.clock.now = created + HOUR + 60_000; // the first response is late
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 1 });
    d.clock.now = created + 90 * 60_000;
    await d.ingest(buildMail({ from: 'Bob <bob@example.test>', inReplyTo: '<down@customer.test>', body: 'Looking at it.' }));
    d.clock.now = created + 3.5 * HOUR; // answered; past 75% of the 4 h to resolve
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    d.clock.now = created + 4 * HOUR + 60_000; // answered, never resolved
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 1 });
    expect(await d.runJob('slaCheck', d.clock.now + HOUR)).toEqual({ warnings: 0, breaches: 0 });
    const recorded = (await eventsOf(d, 'HD-1')).filter((e) => e.type.startsWith('sla_')).map((e) => `${e.type} ${e.to}`);
    expect(recorded.sort()).toEqual(['sla_breach first_response:critical', 'sla_breach resolution:critical', 'sla_warning first_response:critical', 'sla_warning resolution:critical']);
    fx.sink.messages.length = 0;
    await d.send();
    const breach = fx.sink.messages.find((m) => m.parsed.text?.includes('missed its SLA for resolution'));
    expect(breach?.parsed.inReplyTo).toBe('<down@customer.test>');
  });

  it('leaves resolved tickets alone, and stops the clocks while pending: the due time moves by the pause', async () => {
    const d = desk();
    const created = d.clock.now;
    await d.ingest(buildMail({ messageId: '<q@customer.test>' }));
    await d.ingest(buildMail({ from: 'Bob <bob@example.test>', inReplyTo: '<q@customer.test>', body: '#status pending\nWhich printer model is it?' }));
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ status: 'pending', pausedAt: created, dueAt: created + 4 * HOUR });
    d.clock.now = created + 10 * HOUR; // waiting on the customer: no warning, no breach
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 0 });
    await d.ingest(buildMail({ from: 'carla@customer.test', inReplyTo: '<q@customer.test>', body: 'An HP 4250.' }));
    const resumed = await d.view.ticketByRef('HD-1');
    expect(resumed).toMatchObject({ status: 'open', pausedAt: null, dueAt: created + 14 * HOUR });
    const moved = (await eventsOf(d)).filter((e) => e.type === 'due_changed');
    expect(moved).toMatchObject([{ from: 'resolution', to: new Date(created + 14 * HOUR).toISOString(), reason: expect.stringContaining('the SLA clocks stood still for 600 min') }]);
    d.clock.now = created + 13 * HOUR; // 75% of the moved 14 h has passed
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    const t = await d.view.ticketByRef('HD-1');
    if (!t) throw new Error('no ticket');
    await d.staffChange(t, planChange(t, 'status', 'resolved', d.config, d.clock.now), 'agent:bob@example.test', d.clock.now, null);
    expect(await d.runJob('slaCheck', created + 100 * HOUR)).toEqual({ warnings: 0, breaches: 0 });
  });
});

describe('escalation (rules.yaml escalation)', () => {
  const ESCALATING = `${RULES}escalation:
  - name: critical breach to the leads
    when: { breach: resolution, severity: critical }
    then: { priority: high, assign: { group: software }, notify: [queue, admins] }
  - name: never for low
    when: { warning: any, severity: low }
    then: { priority: low }
`;
  it('an escalation with both a queue and a group assignment ends in the group, with one queue change at most', async () => {
    const rules = `${RULES}escalation:\n  - name: both\n    when: { breach: resolution }\n    then: { queue: hardware, assign: { group: software } }\n`;
    const agents = AGENTS.replace('groups:\n', 'groups:\n  - { name: hardware, members: [] }\n');
    const d = fx.open({ files: { rules, agents }, extra: 'sla: { critical: 4h }\n' });
    const created = d.clock.now;
    await d.ingest(buildMail({ messageId: '<both@customer.test>', subject: 'Server down' }));
    d.clock.now = created + 4 * HOUR + 60_000;
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 1 });
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ queue: 'software', assignee: null });
    const evs = await eventsOf(d, 'HD-1');
    expect(evs.filter((e) => e.type === 'queue_changed')).toEqual([]);
    expect(evs.find((e) => e.type === 'escalated')?.reason).toContain('assignee none');
  });

  it('applies a matching escalation once on the breach: fields changed with events, the queue and admins told in the same mail', async () => {
    // Cid is in the software queue but neither assignee nor admin: only the escalation tells him.
    const agents = AGENTS.replace('groups:\n', '  - { name: Cid, email: cid@example.test, groups: [software] }\ngroups:\n');
    const d = fx.open({ files: { rules: ESCALATING, agents }, extra: 'sla: { critical: 4h }\n' });
    const created = d.clock.now;
    await d.ingest(buildMail({ messageId: '<esc@customer.test>', subject: 'Server down' }));
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ severity: 'critical', assignee: 'bob@example.test', priority: 'medium' });
    d.clock.now = created + 3.5 * HOUR; // a warning: no escalation matches it
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 1, breaches: 0 });
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ priority: 'medium', assignee: 'bob@example.test' });
    await d.send();
    fx.sink.messages.length = 0;
    d.clock.now = created + 4 * HOUR + 60_000;
    expect(await d.runJob('slaCheck', d.clock.now)).toEqual({ warnings: 0, breaches: 1 });
    expect(await d.runJob('slaCheck', d.clock.now + HOUR)).toEqual({ warnings: 0, breaches: 0 });
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ priority: 'high', queue: 'software', assignee: null });
    const evs = await eventsOf(d, 'HD-1');
    expect(evs.filter((e) => e.type === 'escalated')).toMatchObject([{ to: 'critical breach to the leads breach resolution', reason: expect.stringContaining('priority high; assignee none') }]);
    expect(evs.filter((e) => e.type === 'priority_changed')).toMatchObject([{ actor: 'system', to: 'high', reason: 'escalation "critical breach to the leads" (breach: resolution)' }]);
    await d.send();
    // The breach goes to the assignee (at the time) and the queue's admin; the escalation adds the rest of the queue.
    const told = fx.sink.messages.map((m) => m.to[0]).sort();
    expect(told).toEqual(['ana@example.test', 'bob@example.test', 'cid@example.test']);
    expect(evs.find((e) => e.type === 'escalated')?.reason).toContain('told cid@example.test');
    expect(fx.sink.messages.every((m) => m.parsed.text?.includes('Escalated: critical breach to the leads.'))).toBe(true);
  });

  it('is checked with the rules: an unknown group, and a when with neither breach nor warning, at their lines', () => {
    const dir = writeConfigDir({ 'rules.yaml': 'rules: []\nescalation:\n  - name: x\n    when: { severity: critical }\n    then: { assign: { group: nowhere } }\n' });
    const r = runCli(['--config', dir, 'config', 'check']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('rules.yaml:4:11: escalation 1 "x": when: an escalation needs exactly one of breach or warning');
  });
});

describe('organisations and contracts (config/customers.yaml)', () => {
  const CUSTOMERS = `levels:
  gold: { sla: { critical: 2h, firstResponse: { critical: 30m } }, priority: high }
organisations:
  - name: Acme
    domains: [acme.test]
    contracts: [{ name: Acme Gold, level: gold, from: 2020-01-01 }]
  - name: Old Co
    domains: [old.test]
    contracts: [{ name: Old Gold, level: gold, from: 2020-01-01, until: 2020-12-31 }]
`;
  // Before the catch-all rule, so that it is looked at.
  const RULES_EXPIRED = RULES.replace('rules:\n', 'rules:\n  - { name: expired contracts, when: { contractValid: false, organisation: Old Co }, then: { tags: [expired-contract] }, continue: true }\n');

  it('a valid contract gives its level’s targets and priority; an expired one is recorded, shown and testable by rules, not used', async () => {
    const d = fx.open({ files: { customers: CUSTOMERS, rules: RULES_EXPIRED }, extra: 'sla: { critical: 4h }\n' });
    const created = d.clock.now;
    await d.ingest(buildMail({ from: 'Ana <ana@mail.acme.test>', subject: 'Server down' }));
    expect(await d.view.ticketByRef('HD-1')).toMatchObject({ organisation: 'Acme', contract: 'Acme Gold', slaLevel: 'gold', severity: 'critical', priority: 'high', dueAt: created + 2 * HOUR, firstResponseDueAt: created + 30 * 60_000 });
    await d.ingest(buildMail({ from: 'Olga <olga@old.test>', subject: 'Server down' }));
    expect(await d.view.ticketByRef('HD-2')).toMatchObject({ organisation: 'Old Co', contract: 'Old Gold', slaLevel: null, priority: 'medium', dueAt: created + 4 * HOUR, firstResponseDueAt: null, tags: ['expired-contract'] });
    fx.sink.messages.length = 0;
    await d.send();
    const assigned = fx.sink.messages.filter((m) => m.to.includes('bob@example.test')).map((m) => m.parsed.text ?? '');
    expect(assigned.some((t) => t.includes('olga@old.test (Old Co, contract Old Gold NOT VALID)'))).toBe(true);
    expect(assigned.some((t) => t.includes('ana@mail.acme.test (Acme, contract Acme Gold)'))).toBe(true);
  });
});

describe('auto-close, digest and backup', () => {
  it('closes tickets resolved more than 7 days ago, with a status event', async () => {
    const d = desk();
    await d.ingest(buildMail({ subject: 'one' }));
    await d.ingest(buildMail({ subject: 'two' }));
    for (const ref of ['HD-1', 'HD-2']) {
      const t = await d.view.ticketByRef(ref);
      if (!t) throw new Error('no ticket');
      await d.staffChange(t, planChange(t, 'status', 'resolved', d.config, d.clock.now + (ref === 'HD-2' ? 2 * 86_400_000 : 0)), 'agent:bob@example.test', d.clock.now, null);
    }
    expect(await d.runJob('autoClose', d.clock.now + 8 * 86_400_000)).toEqual({ closed: 1 });
    expect((await d.view.ticketByRef('HD-1'))?.status).toBe('closed');
    expect((await d.view.ticketByRef('HD-2'))?.status).toBe('resolved');
    const closing = (await eventsOf(d)).filter((e) => e.to === 'closed');
    expect(closing).toMatchObject([{ actor: 'system', type: 'status_changed', from: 'resolved', reason: expect.stringContaining('jobs.autoClose') }]);
  });

  it('mails the admins a digest by queue', async () => {
    const d = desk();
    await d.ingest(buildMail({ subject: 'one' }));
    await d.ingest(buildMail({ subject: 'two' }));
    d.clock.now += 5 * HOUR;
    expect(await d.runJob('digest', d.clock.now)).toMatchObject({ admins: 1, open: 2, overdue: 2, created: 2 });
    await d.send();
    const mail = fx.sink.messages.filter((m) => m.to.includes('ana@example.test')).at(-1);
    expect(mail?.parsed.subject).toBe('Daily digest: 2 open, 2 overdue');
    expect(mail?.parsed.text).toMatch(/software\s+2\s+2\s+2\s+0/);
  });

  it('keeps on the outbox row the subject the digest went out with, in the language of the admins', async () => {
    const d = desk({ locale: 'es' });
    await d.ingest(buildMail({ subject: 'one' }));
    await d.runJob('digest', d.clock.now);
    const row = async () => (await d.view.listOutbox()).find((r) => r.template === 'digest');
    expect((await row())?.subject).toBe('Daily digest: 1 open, 0 overdue'); // queued: the fallback
    await d.send();
    const mail = fx.sink.messages.filter((m) => m.to.includes('ana@example.test')).at(-1);
    expect(mail?.parsed.subject).toBe('Resumen diario: 1 abiertos, 0 vencidos');
    expect(await row()).toMatchObject({ status: 'sent', subject: 'Resumen diario: 1 abiertos, 0 vencidos' });
  });

  sqliteOnly('backs up the live database: the copy opens and holds the same tickets; old copies are pruned', async () => {
    const d = desk({}, 'jobs: { backup: { keep: 2 } }\n');
    for (let i = 0; i < 3; i++) await d.ingest(buildMail({ subject: `t${i}` }));
    let last = '';
    for (let i = 0; i < 3; i++) last = String((await backup(d.store, d.config, d.clock.now + i * 86_400_000)).file);
    expect(readdirSync(backupDir(d.config, d.store))).toHaveLength(2);
    const copy = new Database(last, { readonly: true });
    try {
      expect(copy.prepare('select count(*) as n from tickets').get()).toEqual({ n: 3 });
    } finally {
      copy.close();
    }
    expect(path.dirname(last)).toBe(path.join(d.dataDir, 'backups'));
  });
});

describe('helpdesk jobs run', () => {
  it('runs one job now and prints its outcome; an unknown job is a usage error', () => {
    const config = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test }\n' });
    const data = tempDir('hd-jobs-cli-');
    const args = ['--config', config, '--data', data, 'jobs', 'run'];
    const r = runCli([...args, 'backup', '--json']);
    expect(r.code).toBe(0);
    const outcome = JSON.parse(r.stdout) as { file: string; removed: number };
    expect(path.dirname(outcome.file)).toBe(path.join(data, 'backups'));
    expect(readdirSync(path.join(data, 'backups'))).toEqual([path.basename(outcome.file)]);
    expect(runCli([...args, 'slaCheck']).stdout).toBe('warnings: 0\nbreaches: 0\n');
    const bad = runCli([...args, 'nope']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('unknown job nope; jobs: slaCheck, autoClose, digest, backup');
  });
});

// The SQLite daemon's scheduler; the cluster's (one run per tick across daemons) is pg-jobs.test.ts's.
describe('scheduler', () => {
  sqliteOnly('never runs a job twice at once, and runs time-critical jobs once at start', async () => {
    const d = desk();
    const logs: string[] = [];
    const log = silentLogger();
    log.info = ((obj: { job?: string }, msg?: string) => logs.push(`${obj.job} ${msg}`)) as typeof log.info;
    log.warn = ((obj: { job?: string }, msg?: string) => logs.push(`${obj.job} ${msg}`)) as typeof log.warn;
    const scheduler = startScheduler(d.store, () => d.config, log, { now: () => d.clock.now });
    await scheduler.started;
    const [a, b] = await Promise.all([scheduler.run('backup'), scheduler.run('backup')]);
    await scheduler.stop();
    expect([a, b].filter((x) => x === 'skipped')).toHaveLength(1);
    // At start: slaCheck, autoClose and (no backup yet) backup ran; the digest waits for its time.
    expect(logs.filter((l) => l.endsWith('job started')).map((l) => l.split(' ')[0]).sort()).toEqual(['autoClose', 'backup', 'backup', 'slaCheck'].sort());
    expect(logs).toContain('backup job still running; this run is skipped');
  });

  sqliteOnly('neither schedules nor catches up a disabled job', async () => {
    const d = desk({}, 'jobs: { slaCheck: { enabled: false }, backup: { enabled: false } }\n');
    const logs: string[] = [];
    const log = silentLogger();
    log.info = ((obj: { job?: string }, msg?: string) => logs.push(`${obj.job} ${msg}`)) as typeof log.info;
    const scheduler = startScheduler(d.store, () => d.config, log, { now: () => d.clock.now });
    await scheduler.started;
    await scheduler.stop();
    expect(logs.filter((l) => l.endsWith('job started'))).toEqual(['autoClose job started']);
    expect(logs).toEqual(expect.arrayContaining(['slaCheck job disabled in config', 'backup job disabled in config']));
  });
});
