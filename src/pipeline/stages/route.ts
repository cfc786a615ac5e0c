import type { Config, Priority, Severity } from '../../config/schema';
import { addressMatches, firstWord, matchCondition } from '../rules';
import type { CategoryPredictor } from '../category-model';
import type { Decided, InboundMail, RouteDecision, Stage } from '../types';
import { customerOf, levelPriority, type Customer } from '../customers';

/**
 * Routes a message that starts a ticket: config/rules.yaml in order (the first match wins,
 * unless it says `continue`; a field set by an earlier rule is kept), then, for what no rule
 * set, the message itself (priority headers, keywords, VIP senders) and the defaults.
 * Every field carries the reason it has its value.
 */
export const route: Stage = {
  name: 'route',
  run(draft, ctx) {
    if (!draft.mail || !draft.thread || draft.thread.ticket) return {};
    return { route: routeMail(draft.mail, ctx.config, draft.receivedAt, ctx.categoryModel ?? null, draft.spam?.verdict ?? null) };
  },
};

export function routeMail(mail: InboundMail, config: Config, at: number, model: CategoryPredictor | null = null, spam: 'ham' | 'unsure' | 'spam' | null = null): RouteDecision {
  const matched: RouteDecision['rules'] = [];
  const set: { category?: Decided<string>; priority?: Decided<Priority>; severity?: Decided<Severity>; queue?: Decided<string | null>; assign?: RouteDecision['assign'] } = {};
  const tags = new Set<string>();
  // Rules may test the category: the one an earlier rule set, else the predicted one.
  const predicted = predictCategory(mail, config, model);
  const customer = customerOf(mail.from?.address, at, config);
  for (const rule of config.rules) {
    const category = set.category?.value ?? (predicted.source === 'predicted' ? predicted.value : null);
    const m = matchCondition(rule.when, { mail, category, spam, at, customer }, config);
    if (!m.matched) continue;
    matched.push({ name: rule.name, why: m.why });
    const by = `rule "${rule.name}"`;
    const t = rule.then;
    if (t.category && !set.category) set.category = { value: t.category, reason: by };
    if (t.priority && !set.priority) set.priority = { value: t.priority, reason: by };
    if (t.severity && !set.severity) set.severity = { value: t.severity, reason: by };
    if (t.queue && !set.queue) set.queue = { value: t.queue, reason: by };
    for (const tag of t.tags ?? []) tags.add(tag);
    if (t.assign && !set.assign) set.assign = 'agent' in t.assign ? { agent: t.assign.agent, reason: by } : { group: t.assign.group, strategy: t.assign.strategy, reason: by };
    if (t.stop || !rule.continue) break;
  }
  const d = config.defaults;
  return {
    rules: matched,
    category: set.category ? { ...set.category, source: 'rule', confidence: null } : predicted,
    priority: set.priority ?? priorityFromMail(mail, config) ?? contractPriority(customer, config) ?? { value: d.priority, reason: 'defaults.priority' },
    severity: set.severity ?? severityFromMail(mail, config) ?? { value: d.severity, reason: 'defaults.severity' },
    queue: set.queue ?? (set.assign && 'group' in set.assign ? { value: set.assign.group, reason: `${set.assign.reason} assigns to this group` } : { value: d.queue, reason: 'defaults.queue' }),
    tags: [...tags],
    assign: set.assign ?? null,
    customer,
  };
}

/** The predicted category when the model is trained enough and sure enough, else the default. */
function predictCategory(mail: InboundMail, config: Config, model: CategoryPredictor | null): RouteDecision['category'] {
  const fallback = (why: string): RouteDecision['category'] => ({ value: config.defaults.category, reason: `defaults.category (no rule set it; ${why})`, source: 'default', confidence: null });
  const p = config.prediction;
  if (!p.enabled) return fallback('prediction disabled');
  if (!model || model.examples < p.minExamples) return fallback(`prediction needs ${p.minExamples} categorised tickets, has ${model?.examples ?? 0}`);
  const guess = model.predict(`${mail.subject}\n${mail.text}`);
  if (!guess) return fallback('no prediction');
  const confidence = Math.round(guess.confidence * 100) / 100;
  if (guess.confidence < p.minConfidence) return fallback(`best guess ${guess.category} at confidence ${confidence} < ${p.minConfidence}`);
  return { value: guess.category, reason: `predicted from ${model.examples} past tickets (confidence ${confidence})`, source: 'predicted', confidence };
}

const header = (mail: InboundMail, name: string) => mail.headers.find((h) => h.name === name)?.value.trim() ?? null;

/** Priority the sender asked for (X-Priority, Importance, Priority), keywords, VIP senders. */
/** The default priority of the sender's valid contract level (config/customers.yaml), if it has one. */
function contractPriority(customer: Customer | null, config: Config): Decided<Priority> | null {
  const value = levelPriority(config, customer);
  return value && customer ? { value, reason: `level ${customer.level} of contract ${customer.contract} (${customer.organisation})` } : null;
}

function priorityFromMail(mail: InboundMail, config: Config): Decided<Priority> | null {
  const xPriority = header(mail, 'x-priority');
  if (xPriority && /^[12]\b/.test(xPriority)) return { value: 'high', reason: `X-Priority: ${xPriority}` };
  const importance = header(mail, 'importance')?.toLowerCase() ?? null;
  if (importance === 'high') return { value: 'high', reason: 'Importance: high' };
  const priority = header(mail, 'priority')?.toLowerCase() ?? null;
  if (priority === 'urgent') return { value: 'high', reason: 'Priority: urgent' };
  const sender = mail.from?.address;
  const vip = sender ? config.triage.vip.find((p) => addressMatches(p, sender)) : undefined;
  if (vip) return { value: 'high', reason: `sender ${sender} is a VIP (${vip})` };
  const word = firstWord(config.triage.urgentKeywords, `${mail.subject}\n${mail.text.slice(0, 2000)}`);
  if (word) return { value: 'high', reason: `urgent keyword "${word}" in the message` };
  if ((xPriority && /^[45]\b/.test(xPriority)) || importance === 'low') return { value: 'low', reason: xPriority ? `X-Priority: ${xPriority}` : 'Importance: low' };
  return null;
}

/** Severity from "service down" keywords, in the subject or the first lines of the body. */
function severityFromMail(mail: InboundMail, config: Config): Decided<Severity> | null {
  const word = firstWord(config.triage.criticalKeywords, `${mail.subject}\n${mail.text.slice(0, 500)}`);
  return word ? { value: 'critical', reason: `critical keyword "${word}" in the message` } : null;
}
