import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { jsonSchemas } from '../../src/config/json-schema';
import path from 'node:path';
import { runCli, waitFor } from '../helpers/cli';
import { startTestDaemon } from '../helpers/daemon';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';
import { buildMail } from '../helpers/mail';

afterAll(() => removeTempDirs());

const rule = (category: string) => `rules:\n  - { name: all to ${category}, when: {}, then: { category: ${category} } }\n`;

describe('live config reload', () => {
  it('keeps routing with the last good rules while rules.yaml is broken, and applies the fix to the next message', async () => {
    const maildir = tempDir('hd-md-');
    const desk = await startTestDaemon(`helpdesk: { address: support@example.test }\nmailboxes:\n  - { id: local, maildir: ${maildir}, pollInterval: 1h }\n`);
    const deliver = (n: number) => {
      mkdirSync(path.join(maildir, 'new'), { recursive: true });
      writeFileSync(path.join(maildir, 'new', `${n}.msg`), buildMail({ messageId: `<r${n}@c.test>`, from: `c${n}@c.test` }));
    };
    const { logs, configDir } = desk;
    const categories = async () => (await desk.view.listTickets()).reverse().map((t) => t.category);
    // The test desk trusts From: lines (trust.mode from-header) and has agents: the daemon says so
    // in its log when it starts and again with each config it takes.
    const warnings = () => logs.filter((l) => l.level === 40 && l.msg.startsWith('config warning: trust.mode is from-header: anyone who writes an agent')).length;
    try {
      expect(warnings()).toBe(1);
      writeFileSync(path.join(configDir, 'rules.yaml'), rule('first'));
      await waitFor(() => logs.some((l) => l.msg === 'config reloaded') || undefined, 5000, 'first reload');
      expect(warnings()).toBe(2);
      deliver(1);
      await waitFor(async () => (await categories()).length === 1 || undefined, 5000, 'ticket 1');

      writeFileSync(path.join(configDir, 'rules.yaml'), 'rules:\n  - { name: broken, when: { subjet: x }, then: {} }\n');
      const rejected = await waitFor(() => logs.find((l) => l.msg.startsWith('config change rejected')), 5000, 'rejection logged');
      expect(rejected.msg).toMatch(/rules\.yaml:2:\d+: rule 1 "broken": when: unknown key\(s\) 'subjet'/);
      deliver(2);
      await waitFor(async () => (await categories()).length === 2 || undefined, 5000, 'ticket 2');

      const reloads = logs.filter((l) => l.msg === 'config reloaded').length;
      writeFileSync(path.join(configDir, 'rules.yaml'), rule('second'));
      await waitFor(() => logs.filter((l) => l.msg === 'config reloaded').length > reloads || undefined, 5000, 'fixed reload');
      deliver(3);
      await waitFor(async () => (await categories()).length === 3 || undefined, 5000, 'ticket 3');
      expect(await categories()).toEqual(['first', 'first', 'second']);
    } finally {
      await desk.stop();
    }
  });
});

describe('helpdesk rules test', () => {
  it('prints the whole decision without writing anything', () => {
    const config = writeConfigDir({
      'rules.yaml': 'rules:\n  - name: printers\n    when: { subject: { any: [printer, impresora] } }\n    then: { category: hardware, assign: { group: software, strategy: round_robin } }\n',
    });
    const data = tempDir('hd-rt-');
    const file = path.join(tempDir(), 'm.eml');
    writeFileSync(file, buildMail({ subject: 'URGENT: printer on fire', headers: { 'X-Priority': '1' } }));
    const r = runCli(['--config', config, '--data', data, 'rules', 'test', file, '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(Object.keys(d)).toEqual(expect.arrayContaining(['classification', 'spam', 'thread', 'actor', 'rule', 'category', 'priority', 'severity', 'queue', 'assignee', 'dueAt', 'notifications']));
    expect(d.rule.matched).toEqual([{ name: 'printers', why: ['subject has any of printer, impresora'] }]);
    expect(d.category).toMatchObject({ value: 'hardware', reason: 'rule "printers"', predicted: false });
    expect(d.priority).toEqual({ value: 'high', reason: 'X-Priority: 1' });
    expect(d.assignee).toEqual({ value: 'ana@example.test', reason: 'rule "printers": group software, round_robin: next after (nobody yet) is ana@example.test' });
    expect(d.thread).toMatchObject({ threadedBy: 'new' });
    expect(d.notifications.send.map((n: { template: string; to: string }) => `${n.template} ${n.to}`)).toEqual(['ack carla@customer.test', 'assigned ana@example.test']);
    // Nothing written: running it again gives the same assignee (no round-robin pointer stored).
    expect(JSON.parse(runCli(['--config', config, '--data', data, 'rules', 'test', file, '--json']).stdout).assignee.value).toBe('ana@example.test');
    expect(JSON.parse(runCli(['--config', config, '--data', data, 'tickets', 'list', '--json']).stdout)).toEqual([]);
    expect(runCli(['--config', config, '--data', data, 'rules', 'test', file]).stdout).toMatch(/^rule "printers" matched: subject has any of printer, impresora$/m);
  });
});

describe('the shipped config', () => {
  const shipped = path.resolve(__dirname, '../../config');
  it('passes config check, warning that the From header alone makes an agent', () => {
    const r = runCli(['--config', shipped, '--data', tempDir(), 'config', 'check', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mailboxes: [{ id: 'local', kind: 'maildir' }], groups: ['software', 'hardware'], rules: expect.arrayContaining(['printers and devices to hardware']), warnings: [expect.stringMatching(/^trust.mode is from-header: anyone who writes an agent's address/)] });
    expect(runCli(['--config', shipped, '--data', tempDir(), 'config', 'check']).stdout).toMatch(/\nwarning: trust.mode is from-header/);
  });
  it('routes a Spanish printer complaint to hardware, and an outage as critical', () => {
    const file = path.join(tempDir(), 'm.eml');
    writeFileSync(file, buildMail({ subject: 'La impresora no funciona', body: 'No imprime nada desde ayer.' }));
    const d = JSON.parse(runCli(['--config', shipped, '--data', tempDir(), 'rules', 'test', file, '--json']).stdout);
    expect(d.category.value).toBe('hardware');
    expect(d.queue.value).toBe('hardware');
    expect(d.severity).toEqual({ value: 'critical', reason: 'rule "service down"' });
    expect(['bruno@example.com', 'diego@example.com']).toContain(d.assignee.value);
  });
  it('has JSON Schemas that match the zod schemas', () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      expect(JSON.parse(readFileSync(path.join(shipped, 'schema', name), 'utf8'))).toEqual(schema);
    }
  });
});
