import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import { composeMessage } from '../../src/mail-out/compose';
import { defaultTemplatesDir, loadTemplates } from '../../src/mail-out/templates';
import type { OutboxEntry } from '../../src/store/outbox';
import { TEMPLATES } from '../../src/pipeline/types';
import { runCli } from '../helpers/cli';
import { removeTempDirs, tempDir, writeConfigDir } from '../helpers/env';

/** A row without attachments reads no file. */
const noFiles = (relative: string): Buffer => {
  throw new Error(`no file expected, asked for ${relative}`);
};

afterAll(removeTempDirs);

const config = loadConfig(writeConfigDir({ 'helpdesk.yaml': 'helpdesk: { address: support@example.test, timezone: Europe/Madrid }\n' }));
const data = {
  helpdesk: { name: 'Support', address: 'support@example.test' },
  ref: 'HD-7',
  marker: '[ref:HD-7.abc123.0123456789abcdef]',
  reason: 'no agent in queue software is available',
  ticket: { subject: 'Printer <broken>', status: 'new', priority: 'high', severity: 'critical', category: 'hardware', queue: 'software', assignee: 'ana@example.test', assigneeName: 'Ana', customer: 'carla@customer.test', dueAt: Date.parse('2026-11-24T09:00:00Z'), slaTarget: 4 * 3_600_000 },
  message: { from: 'carla@customer.test', fromName: 'Carla', subject: 'Printer <broken>', text: 'It <does> not print.\nAt all.', receivedAt: 0 },
  recipient: { address: 'ana@example.test', name: 'Ana' },
  change: { from: 'open', to: 'resolved' },
  reply: { text: 'Please restart it.' },
  mailbox: 'support',
  since: Date.parse('2026-11-24T08:00:00Z'),
  error: 'authentication failed',
};

describe('shipped templates', () => {
  const templates = loadTemplates(defaultTemplatesDir(), () => config);
  it('compile without problems', () => {
    expect(templates.problems()).toEqual([]);
  });
  it.each(TEMPLATES.flatMap((t) => ['en', 'es'].map((l) => [t, l] as const)))('%s (%s) renders text and html with the values escaped in html only', (name, locale) => {
    const r = templates.render(name, locale, data);
    expect(r.text.length).toBeGreaterThan(20);
    expect(r.html).toMatch(/<\/body><\/html>\s*$/);
    expect(r.html).not.toMatch(/<broken>|<does>/);
    if (r.text.includes('Printer')) expect(r.text).toContain('Printer <broken>');
    if (r.html.includes('Printer')) expect(r.html).toContain('Printer &lt;broken&gt;');
  });
  it('uses the locale asked for, and the default for one it does not have', () => {
    expect(templates.render('ack', 'es', data).text).toContain('hemos recibido');
    expect(templates.render('ack', 'fr', data).text).toContain('we have received');
  });
  it('says the due time as a date and time with its zone, and no duration that may not be the real one', () => {
    // Due 8 calendar days after arrival (48 business hours over a holiday week): no "within 2 days".
    const late = { ...data, ticket: { ...data.ticket, dueAt: Date.parse('2026-12-10T16:00:00Z'), slaTarget: 48 * 3_600_000 } };
    const en = templates.render('ack', 'en', late);
    expect(en.text).toContain('We aim to solve it by Thursday, December 10, 2026 at 05:00 PM GMT+1.');
    expect(en.html).toContain('We aim to solve it by Thursday, December 10, 2026 at 05:00 PM GMT+1.');
    expect(templates.render('ack', 'es', late).text).toContain('resolverlo antes del jueves, 10 de diciembre de 2026, 17:00 CET.');
    // With a first-response target, both times.
    const both = { ...late, ticket: { ...late.ticket, firstResponseDueAt: Date.parse('2026-12-03T09:00:00Z') } };
    expect(templates.render('ack', 'en', both).text).toContain('We aim to answer by Thursday, December 3, 2026 at 10:00 AM GMT+1 and to solve it by Thursday, December 10, 2026 at 05:00 PM GMT+1.');
    for (const l of ['en', 'es']) expect(templates.render('ack', l, late).text).not.toMatch(/\b2 (days|días)\b|48/);
  });
});

describe('template errors', () => {
  function copy(): string {
    const dir = tempDir('hd-templates-');
    cpSync(defaultTemplatesDir(), dir, { recursive: true });
    return dir;
  }

  it('rejects a syntax error with file and line and keeps the previous version in force', () => {
    const dir = copy();
    const templates = loadTemplates(dir, () => config);
    const before = templates.render('ack', 'en', data).text;
    const file = path.join(dir, 'en', 'ack.text.hbs');
    writeFileSync(file, 'Hello {{recipient.name}},\n\nyour ticket {{ref}\n');
    const problems = templates.reload();
    expect(problems).toEqual([expect.objectContaining({ file, line: 3 })]);
    expect(templates.render('ack', 'en', data).text).toBe(before);

    writeFileSync(file, 'Hello,\n{{#if ref}}\n{{ref}}\n{{/each}}\n');
    expect(templates.reload()).toEqual([expect.objectContaining({ file, line: 2, message: expect.stringContaining("if doesn't match each") })]);

    writeFileSync(file, 'Fixed: {{ref}}\n');
    expect(templates.reload()).toEqual([]);
    expect(templates.render('ack', 'en', data).text).toBe('Fixed: HD-7\n');
  });

  it('makes `helpdesk config check` fail with file and line', () => {
    const dir = copy();
    writeFileSync(path.join(dir, 'en', 'assigned.text.hbs'), 'Ticket {{ref}}\nDue {{date ticket.dueAt}\n');
    const configDir = writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test }\nnotifications: { templates: ${dir} }\n` });
    const r = runCli(['--config', configDir, '--data', tempDir(), 'config', 'check']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${path.join(dir, 'en', 'assigned.text.hbs')}:2: Parse error on line 2:`);
    const ok = runCli(['--config', writeConfigDir(), '--data', tempDir(), 'config', 'check']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/outgoing mail: directory <data>\/outbox; templates .*templates/);
    expect(ok.stdout).toContain('escalation (0): -');
    expect(ok.stdout).toContain('organisations (0): -; levels: -');
    expect(ok.stdout).toContain('canned answers (2): password-reset, printer-reset; knowledge base: 0 articles');
  });

  it('makes `helpdesk config check` fail on a canned answer that does not compile or names data it does not get, and on a broken article', () => {
    const dir = copy();
    writeFileSync(path.join(dir, 'en', 'answers', 'broken.hbs'), 'Hello {{customer.name}\n');
    writeFileSync(path.join(dir, 'es', 'answers', 'typo.hbs'), 'Hola\nSu ticket {{ticket.reff}}\n');
    const configDir = writeConfigDir({ 'helpdesk.yaml': `helpdesk: { address: support@example.test }\nnotifications: { templates: ${dir} }\n` });
    const r = runCli(['--config', configDir, '--data', tempDir(), 'config', 'check']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${path.join(dir, 'en', 'answers', 'broken.hbs')}:1: Parse error on line 1:`);
    expect(r.stderr).toContain(`${path.join(dir, 'es', 'answers', 'typo.hbs')}:2: "reff" not defined (an answer may use ticket.*`);
    const kbConfig = writeConfigDir();
    mkdirSync(path.join(kbConfig, 'kb'));
    writeFileSync(path.join(kbConfig, 'kb', 'a.md'), '---\ntitle: A\naudience: everyone\n---\ntext\n');
    const kb = runCli(['--config', kbConfig, '--data', tempDir(), 'config', 'check']);
    expect(kb.code).toBe(78);
    expect(kb.stderr).toContain(`${path.join(kbConfig, 'kb', 'a.md')}:3: audience: expected one of public, internal`);
  });

  it('takes the subject from an optional <name>.subject.hbs, in the locale, with the ticket tag kept in front', () => {
    const dir = copy();
    const templates = loadTemplates(dir, () => config);
    const digest = { ...data, total: { open: 3, overdue: 1 } };
    expect(templates.render('digest', 'es', digest).subject).toBe('Resumen diario: 3 abiertos, 1 vencidos');
    expect(templates.render('digest', 'en', digest).subject).toBe('Daily digest: 3 open, 1 overdue');
    expect(templates.render('ack', 'en', data).subject).toBeNull();

    writeFileSync(path.join(dir, 'en', 'ack.subject.hbs'), 'We have your message\n about {{ticket.subject}}\n');
    templates.reload();
    const rendered = templates.render('ack', 'en', data);
    expect(rendered.subject).toBe('We have your message about Printer <broken>');
    const row = { template: 'ack', ref: 'HD-7', subject: '[HD-7] Printer <broken>', recipients: ['carla@customer.test'], messageId: '<m@x>', inReplyTo: null, references: [], createdAt: 0, data: {} } as unknown as OutboxEntry;
    expect(composeMessage(row, rendered, config, noFiles).subject).toBe('[HD-7] We have your message about Printer <broken>');
    expect(composeMessage(row, { ...rendered, subject: null }, config, noFiles).subject).toBe('[HD-7] Printer <broken>');

    writeFileSync(path.join(dir, 'en', 'ack.subject.hbs'), 'Broken {{ticket.subject\n');
    expect(templates.reload()).toEqual([expect.objectContaining({ file: path.join(dir, 'en', 'ack.subject.hbs'), line: 1 })]);
    expect(templates.render('ack', 'en', data).subject).toBe('We have your message about Printer <broken>');
  });

  it('rejects a template that uses a partial that does not exist, naming the line', () => {
    const dir = copy();
    const file = path.join(dir, 'es', 'assigned.html.hbs');
    writeFileSync(file, '<p>hola</p>\n{{> cabecera}}\n');
    expect(loadTemplates(dir, () => config).problems()).toEqual([{ file, line: 2, message: 'unknown partial "cabecera"' }]);
  });
});
