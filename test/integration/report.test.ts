import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { loadConfig } from '../../src/config/load';
import { computeReport, type Report } from '../../src/report/figures';
import { insertMessage } from '../../src/store/messages';
import { openStore, type Store } from '../../src/store/open';
import { copyToPostgres } from '../../src/store/pg/copy';
import { sqliteReportRows } from '../../src/store/reports';
import { addEvent, createTicket, setRating } from '../../src/store/tickets';
import { usePostgres } from '../harness/use-postgres';
import { runCli, runCliAsync } from '../helpers/cli';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';

afterAll(removeTempDirs);

const AGENTS = `agents:
  - { name: Ana, email: ana@example.test, groups: [software], admin: true }
  - { name: Bob, email: bob@example.test, groups: [hardware] }
groups:
  - { name: software }
  - { name: hardware }
`;
const at = (iso: string) => Date.parse(`${iso}Z`);
const pg = usePostgres();

interface Seed {
  created: string;
  severity: string;
  due: string;
  status: string;
  firstResponse?: string;
  resolved?: string;
  closed?: string;
  assignee?: string;
  queue?: string;
  priority?: string;
  category?: string;
  spam?: boolean;
  organisation?: string;
  firstResponseDue?: string;
}

/** Writes tickets, messages and events straight into the store, as the daemon would have. */
function seed(store: Store): void {
  const ticket = (s: Seed) =>
    createTicket(store.db, 'HD', {
      subject: 's',
      status: s.status,
      severity: s.severity,
      priority: s.priority ?? 'medium',
      category: s.category ?? 'general',
      queue: s.queue ?? null,
      assignee: s.assignee ?? null,
      tags: [],
      spamVerdict: s.spam ? 'spam' : 'ham',
      spamScore: null,
      customerId: null,
      channel: null,
      createdAt: at(s.created),
      updatedAt: at(s.created),
      dueAt: at(s.due),
      firstResponseAt: s.firstResponse ? at(s.firstResponse) : null,
      resolvedAt: s.resolved ? at(s.resolved) : null,
      closedAt: s.closed ? at(s.closed) : null,
      organisation: s.organisation ?? null,
      firstResponseDueAt: s.firstResponseDue ? at(s.firstResponseDue) : null,
    }).id;
  const message = (ticketId: number, kind: string, from: string, when: string) =>
    insertMessage(store.db, { ticketId, direction: 'in', kind, messageId: `<${Math.random()}@x>`, references: [], fromAddress: from, to: [], cc: [], subject: 's', text: 't', headers: [], createdAt: at(when) });
  const event = (ticketId: number, actor: string, type: string, from: string | null, to: string, when: string) => addEvent(store.db, { ticketId, at: at(when), actor, type, from, to });

  const t1 = ticket({ created: '2026-11-01T09:00', severity: 'medium', due: '2026-11-03T09:00', firstResponse: '2026-11-01T10:00', resolved: '2026-11-01T12:00', closed: '2026-11-02T08:00', status: 'closed', assignee: 'ana@example.test', queue: 'software', organisation: 'Acme', firstResponseDue: '2026-11-01T09:30' });
  message(t1, 'customer', 'c1@customer.test', '2026-11-01T09:00');
  message(t1, 'agent_reply', 'ana@example.test', '2026-11-01T10:00');
  message(t1, 'customer', 'c1@customer.test', '2026-11-01T11:30');
  message(t1, 'internal_note', 'ana@example.test', '2026-11-01T11:40'); // not a message exchanged
  event(t1, 'agent:ana@example.test', 'time_spent', null, '30', '2026-11-01T11:00');
  event(t1, 'agent:ana@example.test', 'status_changed', 'open', 'resolved', '2026-11-01T12:00');
  event(t1, 'system', 'status_changed', 'resolved', 'closed', '2026-11-02T08:00');
  setRating(store.db, t1, 5, 'great', at('2026-11-01T13:00'));

  const t2 = ticket({ created: '2026-11-01T15:00', severity: 'high', due: '2026-11-02T03:00', firstResponse: '2026-11-02T05:00', resolved: '2026-11-02T15:00', status: 'resolved', assignee: 'bob@example.test', queue: 'hardware', organisation: 'Acme' });
  event(t2, 'system', 'sla_breach', null, 'resolution:high', '2026-11-02T03:00');
  message(t2, 'customer', 'c2@customer.test', '2026-11-01T15:00');
  message(t2, 'agent_reply', 'bob@example.test', '2026-11-02T05:00');
  event(t2, 'agent:bob@example.test', 'time_spent', null, '45', '2026-11-02T05:00');
  event(t2, 'agent:bob@example.test', 'status_changed', 'open', 'resolved', '2026-11-02T15:00');
  setRating(store.db, t2, 3, null, at('2026-11-02T16:00'));

  const t3 = ticket({ created: '2026-11-02T10:00', severity: 'critical', due: '2026-11-02T14:00', status: 'open', assignee: 'ana@example.test', queue: 'software', priority: 'high', category: 'hardware' });
  event(t3, 'agent:ana@example.test', 'time_spent', null, '15', '2026-11-02T11:00');
  ticket({ created: '2026-11-03T09:00', severity: 'low', due: '2026-11-05T13:00', status: 'new', queue: 'hardware', priority: 'low' });
  ticket({ created: '2026-11-02T11:00', severity: 'medium', due: '2026-11-04T11:00', status: 'spam', spam: true });
  const t6 = ticket({ created: '2026-10-20T09:00', severity: 'medium', due: '2026-10-22T09:00', firstResponse: '2026-10-20T10:00', status: 'pending', assignee: 'bob@example.test', queue: 'software', category: 'billing' });
  event(t6, 'agent:ana@example.test', 'status_changed', 'open', 'spam', '2026-11-03T10:00');
  event(t6, 'agent:ana@example.test', 'status_changed', 'spam', 'pending', '2026-11-03T11:00');
  event(t6, 'system', 'status_changed', 'pending', 'spam', '2026-10-25T11:00'); // before the period

  // Resolved twice (reopened by the customer in between): one resolved ticket, on the last day.
  const t7 = ticket({ created: '2026-11-02T09:00', severity: 'medium', due: '2026-11-04T09:00', firstResponse: '2026-11-02T09:30', resolved: '2026-11-03T10:00', status: 'resolved', assignee: 'bob@example.test', queue: 'hardware' });
  event(t7, 'agent:bob@example.test', 'status_changed', 'open', 'resolved', '2026-11-02T10:00');
  event(t7, 'customer:c7@customer.test', 'status_changed', 'resolved', 'open', '2026-11-02T18:00');
  event(t7, 'agent:bob@example.test', 'status_changed', 'open', 'resolved', '2026-11-03T10:00');
  // An agent's mail with commands only (#status resolved) is not a reply.
  message(t7, 'agent_command', 'bob@example.test', '2026-11-03T10:00');
  // Merged into t2 by #merge: closed, but not closed work.
  const t8 = ticket({ created: '2026-11-02T12:00', severity: 'medium', due: '2026-11-04T12:00', status: 'closed', closed: '2026-11-02T12:10', queue: 'hardware' });
  event(t8, 'agent:bob@example.test', 'status_changed', 'new', 'closed', '2026-11-02T12:10');
  event(t8, 'agent:bob@example.test', 'merged_into', null, 'HD-2', '2026-11-02T12:10');
}

function setup() {
  const customers = 'levels: { gold: {} }\norganisations:\n  - { name: Acme, domains: [acme.test], contracts: [{ name: Acme 2026, level: gold, from: 2026-01-01, hours: 10 }] }\n';
  const configDir = writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test, timezone: UTC }\n', 'agents.yaml': AGENTS, 'customers.yaml': customers });
  const dataDir = tempDir('hd-report-');
  const store = openStore(dataDir);
  seed(store);
  return { config: loadConfig(configDir), configDir, dataDir, store };
}

describe('helpdesk report', () => {
  it('computes every figure of a seeded store (answers worked out by hand)', () => {
    const { config, store } = setup();
    const r = computeReport(sqliteReportRows(store.db, at('2026-11-01T00:00'), at('2026-11-04T00:00')), config, at('2026-11-01T00:00'), at('2026-11-04T00:00'), at('2026-11-04T12:00'));
    store.close();
    expect(r.perDay).toEqual([
      { day: '2026-11-01', opened: 2, resolved: 1, closed: 0 },
      { day: '2026-11-02', opened: 3, resolved: 1, closed: 1 },
      { day: '2026-11-03', opened: 1, resolved: 1, closed: 0 },
    ]);
    expect(r.open).toEqual({
      assignee: { '-': 1, 'ana@example.test': 1, 'bob@example.test': 1 },
      queue: { hardware: 1, software: 2 },
      priority: { high: 1, low: 1, medium: 1 },
      severity: { critical: 1, low: 1, medium: 1 },
      status: { new: 1, open: 1, pending: 1 },
      category: { billing: 1, general: 1, hardware: 1 },
    });
    // First responses 60, 840 and 30 minutes; resolutions 180, 1440 and 1500 minutes (t7's last).
    expect(r.firstResponse).toEqual({ count: 3, averageMinutes: 310, p90Minutes: 840 });
    expect(r.resolution).toEqual({ count: 3, averageMinutes: 1040, p90Minutes: 1500 });
    expect(r.messagesPerClosedTicket).toEqual({ tickets: 1, average: 3 });
    // Resolution by the due time: T1 and T7 in time, T2 resolved late, T3 unresolved past due;
    // T4 not due yet; T8 was merged (not measured).
    expect(r.sla).toEqual({
      critical: { met: 0, missed: 1, compliance: 0 },
      high: { met: 0, missed: 1, compliance: 0 },
      medium: { met: 2, missed: 0, compliance: 1 },
      low: { met: 0, missed: 0, compliance: null },
    });
    // Only T1 had a first-response target (09:30), answered at 10:00: late.
    expect(r.slaFirstResponse).toEqual({ critical: { met: 0, missed: 0, compliance: null }, high: { met: 0, missed: 0, compliance: null }, medium: { met: 0, missed: 1, compliance: 0 }, low: { met: 0, missed: 0, compliance: null } });
    expect(r.ratings).toEqual({ count: 2, average: 4, distribution: { '1': 0, '2': 0, '3': 1, '4': 0, '5': 1 } });
    expect(r.spam).toEqual({ caught: 1, markedSpam: 1, markedNotSpam: 1 });
    // Acme: T1 resolved in time, T2 late; 30 + 45 minutes of #time; its contract includes 10 h.
    expect(r.organisations).toEqual([{ organisation: 'Acme', tickets: 2, resolvedInTime: 1, resolvedLate: 1, compliance: 0.5, answeredInTime: 0, answeredLate: 1, firstResponseCompliance: 0, hoursUsed: 1.25, contract: 'Acme 2026', hoursIncluded: 10 }]);
    expect(r.hoursByMonth).toEqual([{ organisation: 'Acme', month: '2026-11', hours: 1.25 }]);
    expect(r.breaches).toEqual([{ ref: 'HD-2', organisation: 'Acme', severity: 'high', clock: 'resolution', at: '2026-11-02T03:00:00.000Z' }]);
    expect(r.agents).toEqual([
      { agent: 'ana@example.test', open: 1, resolved: 1, replies: 1, timeSpentMinutes: 45 },
      { agent: 'bob@example.test', open: 1, resolved: 2, replies: 1, timeSpentMinutes: 45 },
    ]);
  });

  it('measures times in business hours when they are configured', () => {
    const { store, configDir, dataDir } = setup();
    store.close();
    const config = loadConfig(configDir);
    config.helpdesk.businessHours = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' };
    const s = openStore(dataDir);
    // 2026-11-01 is a Sunday: T1 (Sun 09:00 → Sun 10:00) took no business time; T2 (Sun 15:00 → Mon 05:00) none either;
    // T7 (Mon 09:00 → 09:30) 30 minutes.
    const r = computeReport(sqliteReportRows(s.db, at('2026-11-01T00:00'), at('2026-11-04T00:00')), config, at('2026-11-01T00:00'), at('2026-11-04T00:00'), at('2026-11-04T12:00'));
    s.close();
    expect(r.period.businessHours).toBe(true);
    expect(r.firstResponse).toEqual({ count: 3, averageMinutes: 10, p90Minutes: 30 });
    // Resolutions: T1 0 min; T2 Sun 15:00 → Mon 15:00 = 6 business hours; T7 Mon 09:00 → Tue 10:00 = 9.
    expect(r.resolution).toEqual({ count: 3, averageMinutes: 300, p90Minutes: 540 });
  });

  it('gives the same figures from the desk copied into PostgreSQL (issue #25)', async () => {
    const { configDir, dataDir, store } = setup();
    const url = await pg().createDatabase('report');
    try {
      await copyToPostgres(store, url);
    } finally {
      store.close();
    }
    const pgConfig = writeConfigDir({
      'helpdesk.yaml': `helpdesk: { address: support@example.test, timezone: UTC }\nstore: { postgres: { url: "${url}" } }\n`,
      'agents.yaml': AGENTS,
      'customers.yaml': readFileSync(path.join(configDir, 'customers.yaml'), 'utf8'),
    });
    const period = ['report', '--json', '--since', '2026-11-01', '--until', '2026-11-03'];
    const [onSqlite, onPostgres] = await Promise.all([runCliAsync(['--config', configDir, '--data', dataDir, ...period]), runCliAsync(['--config', pgConfig, '--data', tempDir('hd-report-pg-'), ...period])]);
    expect([onSqlite.code, onPostgres.code, onPostgres.stderr]).toEqual([0, 0, '']);
    const figures = JSON.parse(onPostgres.stdout) as Report;
    // Worked out by hand for the seeded desk (the test above), so neither side can be empty.
    expect(figures.perDay).toContainEqual({ day: '2026-11-02', opened: 3, resolved: 1, closed: 1 });
    expect(figures.agents.map((a) => a.replies)).toEqual([1, 1]);
    expect(figures).toEqual(JSON.parse(onSqlite.stdout));
  }, 60_000);

  it('prints tables, JSON, and a self-contained html page that Chromium renders with charts and no requests', async () => {
    const { configDir, dataDir, store } = setup();
    store.close();
    const args = ['--config', configDir, '--data', dataDir, 'report', '--since', '2026-11-01', '--until', '2026-11-03'];
    const text = runCli(args);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^DAY\s+OPENED\s+RESOLVED\s+CLOSED$/m);
    // T7 was resolved on 11-02 and again on 11-03: it counts once, on 11-03.
    expect(text.stdout).toMatch(/^2026-11-02\s+3\s+1\s+1$/m);
    expect(text.stdout).toMatch(/^2026-11-03\s+1\s+1\s+0$/m);
    expect(text.stdout).toContain('first response: 5 h 10 min average, 14 h 0 min 90th percentile (3 tickets)');
    const json = JSON.parse(runCli([...args, '--json']).stdout);
    expect(json.perDay).toHaveLength(3);
    expect(runCli([...args.slice(0, -4), '--since', 'yesterday']).code).toBe(64);

    const dir = tempDir('hd-report-html-');
    const html = path.join(dir, 'report.html');
    expect(runCli([...args, '--html', html]).code).toBe(0);
    // The same desk over 30 and 90 days: daily bars, then weekly ones.
    const html30 = path.join(dir, 'report30.html');
    const html90 = path.join(dir, 'report90.html');
    expect(runCli([...args.slice(0, -4), '--since', '2026-10-05', '--until', '2026-11-03', '--html', html30]).code).toBe(0);
    expect(runCli([...args.slice(0, -4), '--since', '2026-08-06', '--until', '2026-11-03', '--html', html90]).code).toBe(0);
    const htmlEmpty = path.join(dir, 'empty.html');
    expect(runCli([...args.slice(0, -4), '--since', '2026-09-01', '--until', '2026-09-30', '--html', htmlEmpty]).code).toBe(0);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${html}`);
      expect(await page.locator('svg.chart').count()).toBe(6);
      expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(10);
      expect(await page.locator('svg[aria-label="Tickets per day"] title').allTextContents()).toContain('11-02 closed: 1');
      expect(await page.locator('svg[aria-label="First response and resolution (hours)"] rect title').allTextContents()).toContain('resolution average: 17.3');
      expect(await page.locator('table').first().locator('tbody tr').allTextContents()).toEqual(['ana@example.test1110.8', 'bob@example.test1210.8']);
      const shots = path.resolve(__dirname, '../../test-results');
      mkdirSync(shots, { recursive: true });
      const shot = path.join(shots, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot) && statSync(shot).size).toBeGreaterThan(10_000);
      expect(requests).toEqual([`file://${html}`]);

      // A period without tickets: every severity and time says "no data", no 0% bars.
      await page.goto(`file://${htmlEmpty}`);
      expect(await page.locator('svg[aria-label="SLA compliance by severity (%)"] text.no-data').count()).toBe(8); // 4 severities × 2 clocks
      expect(await page.locator('svg[aria-label="SLA compliance by severity (%)"] rect title').count()).toBe(0);
      expect(await page.locator('svg[aria-label="First response and resolution (hours)"] text.no-data').count()).toBe(4);

      // Readable at 30 and 90 days: drawn at its own size (not scaled down), no x labels overlapping, text ≥ 11 px.
      for (const [file, title, bars] of [
        [html30, 'Tickets per day', 30],
        [html90, 'Tickets per week (week starting)', 13],
      ] as const) {
        await page.goto(`file://${file}`);
        const svg = page.locator(`svg[aria-label="${title}"]`);
        const shape = await svg.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const labels = [...el.querySelectorAll('text.x-label')].map((t) => t.getBoundingClientRect());
          // Runs in the page; the test's TypeScript has no DOM library, hence the loose types.
          const page = globalThis as unknown as { getComputedStyle(e: unknown): { width: string } };
          const viewBox = (el as unknown as { viewBox: { baseVal: { width: number } } }).viewBox.baseVal;
          return { scale: parseFloat(page.getComputedStyle(el).width) / viewBox.width, right: box.right, labels: labels.map((l) => ({ left: l.left, right: l.right, height: l.height })) };
        });
        expect(shape.scale).toBeCloseTo(1, 2);
        expect(shape.right).toBeLessThanOrEqual(1280);
        expect(await svg.locator('rect title').count()).toBe(bars * 3);
        for (let i = 1; i < shape.labels.length; i++) expect(shape.labels[i].left).toBeGreaterThan(shape.labels[i - 1].right);
        expect(Math.min(...shape.labels.map((l) => l.height))).toBeGreaterThanOrEqual(11);
        expect(shape.labels.length).toBeGreaterThan(5);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});
