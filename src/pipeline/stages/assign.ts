import type { AgentConfig, Config } from '../../config/schema';
import { localDateString } from '../../lib/local-time';
import type { AssignDecision, RouteDecision, Stage, StageContext } from '../types';

/**
 * Who takes a new ticket: the agent a rule named, or one member of a group by strategy
 * (`round_robin`, fair across restarts through a stored pointer; `least_open`, by open
 * tickets in the store; `random`). Agents who are away or at capacity are skipped. When
 * nobody can take it, the ticket stays unassigned in its queue and the queue's members (or,
 * without members, every admin) are to be told.
 */
export const assign: Stage = {
  name: 'assign',
  async run(draft, ctx) {
    const route = draft.route;
    if (!route) return {};
    if (draft.spam?.verdict === 'spam') return { assignment: { assignee: null, reason: 'spam is not assigned', roundRobin: null, notifyUnassigned: [] } };
    return { assignment: await decideAssignee(route.assign, route.queue.value, ctx) };
  },
};

async function decideAssignee(request: RouteDecision['assign'], queue: string | null, ctx: StageContext): Promise<AssignDecision> {
  const { config } = ctx;
  const now = ctx.now();
  const unassigned = (reason: string, nobodyCan = false): AssignDecision => ({ assignee: null, reason, roundRobin: null, notifyUnassigned: unassignedRecipients(config, queue, now, nobodyCan) });
  if (!request) return unassigned('no rule assigns this ticket');

  const candidates = 'agent' in request ? config.agents.filter((a) => a.email === request.agent) : groupMembers(config, request.group);
  const counts = await ctx.store.openTicketCounts(candidates.map((a) => a.email));
  const skipped: string[] = [];
  const available = candidates.filter((a) => {
    const away = isAway(a, now, config.helpdesk.timezone);
    if (away) skipped.push(`${a.email} is away`);
    const full = a.capacity !== undefined && (counts.get(a.email) ?? 0) >= a.capacity;
    if (full) skipped.push(`${a.email} has ${counts.get(a.email)} open tickets (capacity ${a.capacity})`);
    return !away && !full;
  });
  const skippedText = skipped.length > 0 ? `; skipped: ${skipped.join(', ')}` : '';
  if ('agent' in request) {
    return available.length > 0 ? { assignee: request.agent, reason: `${request.reason} assigns ${request.agent}`, roundRobin: null, notifyUnassigned: [] } : unassigned(`${request.reason} assigns ${request.agent}, who cannot take it${skippedText}`, true);
  }
  if (available.length === 0) return unassigned(`${request.reason}: nobody in group ${request.group} can take it${skippedText || ' (no members)'}`, true);

  const by = `${request.reason}: group ${request.group}, ${request.strategy}`;
  if (request.strategy === 'least_open') {
    const pick = available.reduce((best, a) => ((counts.get(a.email) ?? 0) < (counts.get(best.email) ?? 0) ? a : best));
    return { assignee: pick.email, reason: `${by}: ${pick.email} has the fewest open tickets (${counts.get(pick.email) ?? 0})${skippedText}`, roundRobin: null, notifyUnassigned: [] };
  }
  if (request.strategy === 'random') {
    const pick = available[Math.floor((ctx.random ?? Math.random)() * available.length)];
    return { assignee: pick.email, reason: `${by}: picked ${pick.email} at random${skippedText}`, roundRobin: null, notifyUnassigned: [] };
  }
  // Round robin over the whole member list, so a member coming back from holidays gets
  // their turn in order; the pointer is the member who got the previous ticket.
  const last = await ctx.store.roundRobinLast(request.group);
  const start = candidates.findIndex((a) => a.email === last) + 1;
  const pick = [...candidates.slice(start), ...candidates.slice(0, start)].find((a) => available.includes(a)) as AgentConfig;
  return { assignee: pick.email, reason: `${by}: next after ${last ?? '(nobody yet)'} is ${pick.email}${skippedText}`, roundRobin: { group: request.group, agent: pick.email }, notifyUnassigned: [] };
}

/** Members of a group: listed under groups[].members, or agents naming the group, in agents order. */
export function groupMembers(config: Config, group: string): AgentConfig[] {
  const listed = new Set(config.groups.find((g) => g.name === group)?.members ?? []);
  return config.agents.filter((a) => listed.has(a.email) || a.groups.includes(group));
}

/**
 * Who hears of a ticket nobody was given: the queue's members who are not away; every admin
 * too when the rule's agent or group could not take it (all away or at capacity), or when the
 * queue has nobody present, so that a critical ticket never sits unseen.
 */
function unassignedRecipients(config: Config, queue: string | null, now: number, nobodyCan: boolean): string[] {
  const present = (queue ? groupMembers(config, queue) : []).filter((a) => !isAway(a, now, config.helpdesk.timezone)).map((a) => a.email);
  const admins = present.length === 0 || nobodyCan ? config.agents.filter((a) => a.admin).map((a) => a.email) : [];
  return [...new Set([...present, ...admins])];
}

function isAway(agent: AgentConfig, now: number, timeZone: string): boolean {
  if (typeof agent.away === 'boolean') return agent.away;
  // Compare calendar dates in the help desk's time zone.
  const today = localDateString(now, timeZone);
  return today >= agent.away.from && today <= agent.away.until;
}
