import { loadConfig } from '../../src/config/load';
import type { Config, RuleCondition } from '../../src/config/schema';
import { matchCondition, addressMatches } from '../../src/pipeline/rules';
import { routeMail } from '../../src/pipeline/stages/route';
import type { InboundMail } from '../../src/pipeline/types';
import { removeTempDirs, writeConfigDir } from '../helpers/env';

afterAll(() => removeTempDirs());

function mail(over: Partial<InboundMail> = {}): InboundMail {
  return {
    messageId: '<m@x>', messageIdSynthetic: false, inReplyTo: null, references: [],
    from: { address: 'carla@customer.test', name: 'Carla' }, to: [{ address: 'support@example.test', name: '' }], cc: [], replyTo: [],
    subject: 'La impresora no imprime', text: 'Hola, la impresora del segundo piso está caída.', html: null, date: null,
    headers: [{ name: 'x-mailer', value: 'Outlook 16' }], attachments: [], ...over,
  };
}

function config(rulesYaml = 'rules: []\n', helpdeskExtra = ''): Config {
  return loadConfig(
    writeConfigDir({
      'helpdesk.yaml': `helpdesk: { address: support@example.test, timezone: Europe/Madrid, businessHours: { days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00" } }\n${helpdeskExtra}`,
      'agents.yaml': 'agents:\n  - { name: Ana, email: ana@example.test, groups: [software], admin: true }\n  - { name: Bruno, email: bruno@example.test, groups: [hardware] }\n',
      'rules.yaml': rulesYaml,
    }),
    {},
  );
}

const MONDAY_10_MADRID = Date.UTC(2026, 10, 2, 9, 0); // 10:00 CET
const SATURDAY = Date.UTC(2026, 10, 7, 12, 0);
const facts = (m: InboundMail, at = MONDAY_10_MADRID) => ({ mail: m, category: null, spam: null, at, customer: null });

describe('conditions', () => {
  const c = config();
  const cases: [string, RuleCondition, InboundMail, boolean][] = [
    ['from address', { from: 'carla@customer.test' }, mail(), true],
    ['from domain', { from: '@customer.test' }, mail(), true],
    ['from bare domain matches subdomains', { from: 'test' }, mail(), true],
    ['from glob', { from: '*@*.test' }, mail(), true],
    ['from other', { from: ['x@y.test', '@other.test'] }, mail(), false],
    ['to the sales address via Cc', { to: 'sales@example.test' }, mail({ cc: [{ address: 'sales@example.test', name: '' }] }), true],
    ['subject substring, case-insensitive', { subject: 'IMPRESORA' }, mail(), true],
    ['subject any words', { subject: { any: ['printer', 'impresora'] } }, mail(), true],
    ['subject any needs whole words', { subject: { any: ['impres'] } }, mail(), false],
    ['body all words, accents folded', { body: { all: ['impresora', 'caida'] } }, mail(), true],
    ['body all words, one missing', { body: { all: ['impresora', 'tóner'] } }, mail(), false],
    ['body regex', { body: { regex: 'segundo\\s+piso' } }, mail(), true],
    ['header', { header: { 'X-Mailer': 'outlook' } }, mail(), true],
    ['header absent', { header: { 'X-Spam-Flag': 'YES' } }, mail(), false],
    ['has attachment', { hasAttachment: true }, mail({ attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', size: 1, sha256: 'x', contentId: null, inline: false, content: Buffer.alloc(1) }] }), true],
    ['no attachment', { hasAttachment: true }, mail(), false],
    ['attachment type glob', { attachmentType: 'image/*' }, mail({ attachments: [{ filename: 'a.png', contentType: 'image/png', size: 1, sha256: 'x', contentId: null, inline: false, content: Buffer.alloc(1) }] }), true],
    ['attachment extension', { attachmentType: '.pdf' }, mail({ attachments: [{ filename: 'A.PDF', contentType: 'application/octet-stream', size: 1, sha256: 'x', contentId: null, inline: false, content: Buffer.alloc(1) }] }), true],
    ['all', { all: [{ from: '@customer.test' }, { subject: 'impresora' }] }, mail(), true],
    ['all, one fails', { all: [{ from: '@customer.test' }, { subject: 'vpn' }] }, mail(), false],
    ['any', { any: [{ subject: 'vpn' }, { subject: 'impresora' }] }, mail(), true],
    ['not', { not: { from: '@customer.test' } }, mail(), false],
    ['keys in one block are ANDed', { from: '@customer.test', subject: 'vpn' }, mail(), false],
    ['empty block always holds', {}, mail(), true],
  ];
  it.each(cases)('%s', (_name, cond, m, expected) => {
    expect(matchCondition(cond, facts(m), c).matched).toBe(expected);
  });

  it('time: weekday and business hours in the configured time zone', () => {
    expect(matchCondition({ time: { weekdays: ['mon'] } }, facts(mail()), c).matched).toBe(true);
    expect(matchCondition({ time: { businessHours: true } }, facts(mail()), c).matched).toBe(true);
    expect(matchCondition({ time: { businessHours: false } }, facts(mail(), SATURDAY), c).matched).toBe(true);
    // 08:30 UTC on a summer Monday is 10:30 in Madrid (CEST): inside; in winter 09:30: inside too;
    // 07:30 UTC in summer is 09:30 CEST (inside), in winter 08:30 CET (outside).
    expect(matchCondition({ time: { businessHours: true } }, facts(mail(), Date.UTC(2026, 6, 6, 7, 30)), c).matched).toBe(true);
    expect(matchCondition({ time: { businessHours: true } }, facts(mail(), Date.UTC(2026, 0, 5, 7, 30)), c).matched).toBe(false);
  });

  it('explains which conditions held', () => {
    const m = matchCondition({ from: '@customer.test', subject: { any: ['impresora'] } }, facts(mail()), c);
    expect(m.why).toEqual(['from carla@customer.test matches @customer.test', 'subject has any of impresora']);
  });

  it('addressMatches does not let a domain match a lookalike', () => {
    expect(addressMatches('@example.test', 'a@badexample.test')).toBe(false);
  });
});

describe('route: rules in order, continue, and the message itself', () => {
  const rules = `rules:
  - name: printers
    when: { subject: { any: [impresora, printer] } }
    then: { category: hardware, queue: hardware, tags: [printer] }
    continue: true
  - name: customer domain is high
    when: { from: "@customer.test" }
    then: { priority: high, category: ignored-because-already-set, tags: [customer] }
  - name: never reached
    when: {}
    then: { severity: low }
`;
  it('applies the first match, continues when asked, keeps fields set earlier, stops otherwise', () => {
    const r = routeMail(mail(), config(rules), MONDAY_10_MADRID);
    expect(r.rules.map((x) => x.name)).toEqual(['printers', 'customer domain is high']);
    expect(r.category).toEqual({ value: 'hardware', reason: 'rule "printers"', source: 'rule', confidence: null });
    expect(r.priority).toEqual({ value: 'high', reason: 'rule "customer domain is high"' });
    expect(r.tags).toEqual(['printer', 'customer']);
    expect(r.queue.value).toBe('hardware');
    // "never reached" would set severity low; the body's "caída" makes it critical instead.
    expect(r.severity).toEqual({ value: 'critical', reason: 'critical keyword "caida" in the message' });
  });

  it('reads priority from X-Priority, Importance, Priority headers, VIPs and keywords', () => {
    const c = config('rules: []\n', 'triage: { vip: ["@bigco.test"] }\n');
    const quiet = mail({ subject: 'Pregunta', text: 'Una duda.' });
    expect(routeMail({ ...quiet, headers: [{ name: 'x-priority', value: '1 (Highest)' }] }, c, 0).priority.reason).toBe('X-Priority: 1 (Highest)');
    expect(routeMail({ ...quiet, headers: [{ name: 'importance', value: 'High' }] }, c, 0).priority.value).toBe('high');
    expect(routeMail({ ...quiet, headers: [{ name: 'priority', value: 'urgent' }] }, c, 0).priority.value).toBe('high');
    expect(routeMail({ ...quiet, from: { address: 'boss@bigco.test', name: '' } }, c, 0).priority.reason).toBe('sender boss@bigco.test is a VIP (@bigco.test)');
    expect(routeMail({ ...quiet, subject: 'URGENTE: factura' }, c, 0).priority.reason).toBe('urgent keyword "urgente" in the message');
    expect(routeMail({ ...quiet, headers: [{ name: 'x-priority', value: '5' }] }, c, 0).priority.value).toBe('low');
    expect(routeMail(quiet, c, 0).priority).toEqual({ value: 'medium', reason: 'defaults.priority' });
    expect(routeMail(quiet, c, 0).severity).toEqual({ value: 'medium', reason: 'defaults.severity' });
  });
});
