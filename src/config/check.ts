import { linearRegexProblem } from '../lib/linear-regex';
import type { AgentsFile, RuleCondition, RulesFile } from './schema';

/** A problem found across files, at a path inside one of them. */
export interface SemanticProblem {
  file: 'helpdesk.yaml' | 'agents.yaml' | 'rules.yaml';
  path: (string | number)[];
  message: string;
}

/**
 * Checks that need more than one value or file: duplicate agent addresses, group members
 * and rule and escalation targets that name no agent or group, and regular expressions that RE2 cannot run
 * (they run in linear time, so no message can make a rule hang the daemon: linear-regex.ts).
 */
export function checkConfig(agents: AgentsFile, rules: RulesFile): SemanticProblem[] {
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
