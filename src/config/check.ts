import { linearRegexProblem } from '../lib/linear-regex';
import type { AgentsFile, Config, CustomersFile, RuleCondition, RulesFile } from './schema';

/** A problem found across files, at a path inside one of them. */
export interface SemanticProblem {
  file: 'helpdesk.yaml' | 'agents.yaml' | 'rules.yaml' | 'customers.yaml';
  path: (string | number)[];
  message: string;
}

/**
 * Checks that need more than one value or file: duplicate agent addresses, group members
 * and rule and escalation targets that name no agent or group, and regular expressions that RE2 cannot run
 * (they run in linear time, so no message can make a rule hang the daemon: linear-regex.ts).
 */
export function checkConfig(agents: AgentsFile, rules: RulesFile, customers: CustomersFile = { levels: {}, organisations: [] }): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const owner = new Map<string, string>();
  agents.agents.forEach((a, i) => {
    [a.email, ...a.aliases].forEach((address, k) => {
      const seen = owner.get(address);
      if (seen) problems.push({ file: 'agents.yaml', path: k === 0 ? ['agents', i, 'email'] : ['agents', i, 'aliases', k - 1], message: `${address} is already the address of agent ${seen}` });
      else owner.set(address, a.name);
    });
  });
  agents.groups.forEach((g, i) =>
    g.members.forEach((m, j) => {
      if (!owner.has(m)) problems.push({ file: 'agents.yaml', path: ['groups', i, 'members', j], message: `${m} is not an agent (agents: ${[...owner.keys()].join(', ') || 'none'})` });
    }),
  );
  const groups = new Set([...agents.groups.map((g) => g.name), ...agents.agents.flatMap((a) => a.groups)]);
  const checkAssign = (assign: { agent: string } | { group: string } | undefined, path: (string | number)[]) => {
    if (assign && 'agent' in assign && !owner.has(assign.agent)) {
      problems.push({ file: 'rules.yaml', path: [...path, 'agent'], message: `unknown agent ${assign.agent} (agents: ${[...owner.keys()].join(', ') || 'none'})` });
    }
    if (assign && 'group' in assign && !groups.has(assign.group)) {
      problems.push({ file: 'rules.yaml', path: [...path, 'group'], message: `unknown group ${assign.group} (groups: ${[...groups].join(', ') || 'none'})` });
    }
  };
  rules.rules.forEach((rule, i) => {
    checkAssign(rule.then.assign, ['rules', i, 'then', 'assign']);
    checkRegexes(rule.when, ['rules', i, 'when'], problems);
  });
  rules.escalation.forEach((e, i) => checkAssign(e.then.assign, ['escalation', i, 'then', 'assign']));
  // A contract names a level that exists; a domain or address belongs to one organisation.
  const levels = Object.keys(customers.levels);
  const holder = new Map<string, string>();
  customers.organisations.forEach((o, i) => {
    o.contracts.forEach((c, j) => {
      if (!customers.levels[c.level]) problems.push({ file: 'customers.yaml', path: ['organisations', i, 'contracts', j, 'level'], message: `unknown level ${c.level} (levels: ${levels.join(', ') || 'none'})` });
      if (c.until && c.until < c.from) problems.push({ file: 'customers.yaml', path: ['organisations', i, 'contracts', j, 'until'], message: `ends (${c.until}) before it starts (${c.from})` });
    });
    [...o.domains.map((d) => ['domains', d] as const), ...o.addresses.map((a) => ['addresses', a] as const)].forEach(([kind, value]) => {
      const seen = holder.get(value);
      const k = kind === 'domains' ? o.domains.indexOf(value) : o.addresses.indexOf(value);
      if (seen && seen !== o.name) problems.push({ file: 'customers.yaml', path: ['organisations', i, kind, k], message: `${value} already belongs to ${seen}` });
      else holder.set(value, o.name);
    });
  });
  return problems;
}

function checkRegexes(c: RuleCondition, path: (string | number)[], problems: SemanticProblem[]): void {
  const text = (value: unknown, at: (string | number)[]) => {
    if (value && typeof value === 'object' && 'regex' in value && typeof value.regex === 'string') {
      const why = linearRegexProblem(value.regex);
      if (why) problems.push({ file: 'rules.yaml', path: [...at, 'regex'], message: why });
    }
  };
  text(c.subject, [...path, 'subject']);
  text(c.body, [...path, 'body']);
  for (const [name, m] of Object.entries(c.header ?? {})) text(m, [...path, 'header', name]);
  c.all?.forEach((sub, i) => checkRegexes(sub, [...path, 'all', i], problems));
  c.any?.forEach((sub, i) => checkRegexes(sub, [...path, 'any', i], problems));
  if (c.not) checkRegexes(c.not, [...path, 'not'], problems);
}

/** What is valid but unsafe in production: printed by `config check`, logged by the daemon when it starts and on each reload; never fatal. */
export function configWarnings(c: Config): string[] {
  const warnings: string[] = [];
  if (c.trust.mode === 'from-header' && c.agents.length > 0) {
    warnings.push('trust.mode is from-header: anyone who writes an agent\'s address in From: gets that agent\'s powers; use dkim or authentication-results unless no one outside can write to these mailboxes');
  }
  return warnings;
}
