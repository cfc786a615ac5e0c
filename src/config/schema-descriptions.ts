/**
 * Descriptions for the config files' JSON Schemas, so an editor explains each key. The keys of
 * helpdesk.yaml are documented once, in README.md's table of them ("`config/helpdesk.yaml`"),
 * and taken from there; agents.yaml and rules.yaml are documented in prose, so their keys'
 * descriptions are written here.
 */

/** Key path (`notifications.ackRateLimit`, `mailboxes[].imap`) → description, from README's table. */
export function readmeKeyDescriptions(readme: string): Map<string, string> {
  const start = readme.indexOf('`config/helpdesk.yaml`');
  const rows = start < 0 ? [] : readme.slice(start).split('\n').slice(2);
  const out = new Map<string, string>();
  for (const row of rows) {
    if (!row.startsWith('|')) {
      if (out.size > 0) break;
      continue;
    }
    const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length !== 3 || !cells[0].startsWith('`')) continue;
    const keys = [...cells[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const defaults = cells[1].split(/\s+\/\s+|,\s+(?=`)/);
    const parent = keys[0].includes('.') ? keys[0].slice(0, keys[0].lastIndexOf('.') + 1) : '';
    keys.forEach((key, i) => {
      const full = key.includes('.') || key.includes('[') ? key : parent + key;
      const written = defaults.length === keys.length ? defaults[i] : cells[1];
      const plain = (s: string) => s.replace(/`/g, '').replace(/\*\*/g, '');
      const dflt = plain(written) && !/^(none|required)$/.test(plain(written)) ? ` Default: ${plain(written)}.` : '';
      out.set(full, `${plain(cells[2])}.${dflt}`.replace(/\.\./g, '.').replace(/\.\s+Default/, '. Default'));
    });
  }
  return out;
}

/** agents.yaml's keys (README: "config/agents.yaml" and "Who is an agent"). */
export const AGENTS_DESCRIPTIONS: Record<string, string> = {
  trust: 'Who gets agent powers: {mode: dkim} (a DKIM signature of the agent\'s domain, verified by helpdesk), {mode: authentication-results, authservId: mx.example.com} (your MTA\'s verdict), or {mode: from-header} (anyone who writes the address; local trials only).',
  agents: 'The agents: addresses (and aliases) whose mail, once trusted, acts as an agent\'s.',
  'agents[].name': 'Display name, shown to customers as "Name via Support".',
  'agents[].email': 'The agent\'s address.',
  'agents[].aliases': 'Other addresses of the same agent.',
  'agents[].groups': 'Groups the agent belongs to (also listed under groups[].members).',
  'agents[].admin': 'Admins get digests, health alerts and the unassigned notices nobody else can take.',
  'agents[].capacity': 'At most this many open tickets (new, open, pending); none: no limit.',
  'agents[].away': 'Out of office: true, or {from: 2026-12-24, until: 2027-01-06} (inclusive, in helpdesk.timezone); assignment skips them.',
  groups: 'Groups that rules assign to ({group: NAME, strategy}).',
  'groups[].name': 'The group\'s name, as rules and #assign write it.',
  'groups[].members': 'Agent addresses in the group, besides the agents that name it.',
};

/** rules.yaml's keys (README: "config/rules.yaml"). */
export const RULES_DESCRIPTIONS: Record<string, string> = {
  rules: 'Routing rules, in order. The first rule that matches decides, unless it says continue: true.',
  'rules[].name': 'Shown in errors, events and `helpdesk rules test`.',
  'rules[].when': 'Conditions, every one must hold ({} always holds): from, to, subject, body, header, hasAttachment, attachmentType, category, spam, organisation, contract, contractValid, time, all, any, not.',
  'rules[].then': 'What a matching rule sets: category, priority, severity, queue, tags, assign, stop.',
  'rules[].continue': 'true: later matching rules fill in what is still unset (tags add up).',
  escalation: 'What the SLA job does when a clock warns or breaches: {name, when: {breach|warning: first_response|resolution|any, severity, queue}, then: {priority, severity, queue, assign, notify}}; each once per ticket and clock.',
  'escalation[].when': 'breach or warning (first_response, resolution or any), optionally severity and queue (one value or a list).',
  'escalation[].then': 'priority, severity, queue, assign ({agent} or {group}: the group\'s queue, unassigned), notify ([assignee, queue, admins]: told besides the usual recipients).',
};

/** customers.yaml's keys (README "Organisations and contracts"). */
export const CUSTOMERS_DESCRIPTIONS: Record<string, string> = {
  levels: 'Service levels contracts buy, by name: {sla: {critical, high, medium, low, firstResponse: {...}}, priority}. A target a level leaves out is the desk\'s (helpdesk.yaml sla).',
  organisations: 'Customer organisations: {name, domains, addresses, contracts}. A sender belongs to the organisation listing its address, else the one with its mail domain (subdomains included).',
  'organisations[].domains': 'Mail domains of its people (example.com also covers mail.example.com).',
  'organisations[].addresses': 'Addresses outside those domains that belong to it.',
  'organisations[].contracts': 'Contracts: {name, level, from, until, hours, warranty}. The one valid on the day a ticket arrives gives it its level\'s SLA targets and default priority; an expired one is recorded and shown, not used.',
};
