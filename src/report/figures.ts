import type { Config } from '../config/schema';
import { localDateString } from '../lib/local-time';
import { contractOn } from '../pipeline/customers';
import { countedTime } from '../pipeline/sla';
import type { ReportEvent, ReportRows, ReportTicket } from '../store/reports';

/** A duration statistic in minutes; null when there was nothing to measure. */
export interface TimeStat {
  count: number;
  averageMinutes: number | null;
  p90Minutes: number | null;
}

/** `helpdesk report --json`: every figure for the period [since, until). */
export interface Report {
  period: { since: string; until: string; timezone: string; businessHours: boolean };
  perDay: { day: string; opened: number; resolved: number; closed: number }[];
  open: Record<'assignee' | 'queue' | 'priority' | 'severity' | 'status' | 'category', Record<string, number>>;
  firstResponse: TimeStat;
  resolution: TimeStat;
  messagesPerClosedTicket: { tickets: number; average: number | null };
  /** Resolution by the due time, per severity. */
  sla: Record<string, { met: number; missed: number; compliance: number | null }>;
  /** First response by its due time, per severity (severities with a first-response target). */
  slaFirstResponse: Record<string, { met: number; missed: number; compliance: number | null }>;
  ratings: { count: number; average: number | null; distribution: Record<string, number> };
  spam: { caught: number; markedSpam: number; markedNotSpam: number };
  agents: { agent: string; open: number; resolved: number; replies: number; timeSpentMinutes: number }[];
  /** Per organisation (config/customers.yaml) with tickets or time in the period. */
  organisations: {
    organisation: string;
    tickets: number;
    resolvedInTime: number;
    resolvedLate: number;
    compliance: number | null;
    answeredInTime: number;
    answeredLate: number;
    firstResponseCompliance: number | null;
    hoursUsed: number;
    contract: string | null;
    hoursIncluded: number | null;
  }[];
  /** Hours spent (`#time`) per organisation and month (`YYYY-MM` in the desk's time zone). */
  hoursByMonth: { organisation: string; month: string; hours: number }[];
  /** Canned answers and knowledge-base articles used in the period (issue #22). */
  knowledge: {
    /** `#answer` uses per answer, most used first. */
    answers: { name: string; uses: number }[];
    /**
     * Per article: suggested to agents, offered to customers in acknowledgements, and of the
     * tickets it was offered on, those resolved or closed without any agent reply.
     */
    articles: { id: string; suggestedToAgents: number; offeredToCustomers: number; solvedWithoutAgentReply: number }[];
    /** Tickets offered articles in the period, and how many were resolved or closed without an agent reply. */
    offered: { tickets: number; solvedWithoutAgentReply: number; share: number | null };
  };
  /** Every SLA breach recorded in the period. */
  breaches: { ref: string; organisation: string | null; severity: string; clock: string; at: string }[];
}

const OPEN = ['new', 'open', 'pending'];

/**
 * The report's figures (issue #7). Times are measured in business hours when
 * `helpdesk.businessHours` is set, else in wall-clock time; days are days in
 * `helpdesk.timezone`. Tickets count in the period they were created in (response and
 * resolution times, SLA) or in which the event happened (resolved, closed per day).
 */
export function computeReport(rows: ReportRows, config: Config, since: number, until: number, now: number): Report {
  const tz = config.helpdesk.timezone;
  const hours = config.helpdesk.businessHours;
  const elapsed = (from: number, to: number) => countedTime(from, to, config);
  const all = rows.tickets;
  const inPeriod = (at: number | null) => at !== null && at >= since && at < until;
  const created = all.filter((t) => inPeriod(t.createdAt) && t.status !== 'spam');
  const evs = rows.events;

  const days = new Map<string, { opened: number; resolved: number; closed: number }>();
  for (let t = since; t < until; t += 86_400_000 / 2) days.set(localDateString(t, tz), { opened: 0, resolved: 0, closed: 0 });
  const day = (at: number) => {
    const key = localDateString(at, tz);
    if (!days.has(key)) days.set(key, { opened: 0, resolved: 0, closed: 0 });
    return days.get(key) as { opened: number; resolved: number; closed: number };
  };
  for (const t of created) day(t.createdAt).opened++;
  // A ticket counts once per period: resolved twice (reopened in between) is one resolved
  // ticket, on the day of its last resolution; one merged into another was not closed as work.
  const merged = rows.merged;
  const lastResolved = lastEventPerTicket(evs.filter((e) => e.type === 'status_changed' && e.to === 'resolved'));
  const lastClosed = lastEventPerTicket(evs.filter((e) => e.type === 'status_changed' && e.to === 'closed' && !merged.has(e.ticketId)));
  for (const e of lastResolved) day(e.at).resolved++;
  for (const e of lastClosed) day(e.at).closed++;

  const open = all.filter((t) => OPEN.includes(t.status));
  const by = (key: keyof ReportTicket) => count(open.map((t) => String(t[key] ?? '-')));

  const replies = rows.replies;
  const closed = all.filter((t) => t.status === 'closed' && inPeriod(t.closedAt) && !merged.has(t.id));
  const perTicketCount = new Map(rows.messagesPerTicket.map((r) => [r.ticketId, r.n]));

  // Per clock and severity: met when done by the due time; missed when done later, or not
  // done and past due while running (a pending ticket's clock stands still: neither yet).
  const compliance = (clock: (t: ReportTicket, now: number) => ClockVerdict): Report['sla'] => {
    const out: Report['sla'] = {};
    for (const severity of ['critical', 'high', 'medium', 'low']) {
      const verdicts = created.filter((t) => t.severity === severity && !merged.has(t.id)).map((t) => clock(t, now));
      const met = verdicts.filter((v) => v === 'in time').length;
      const missed = verdicts.filter((v) => v === 'late').length;
      out[severity] = { met, missed, compliance: met + missed > 0 ? met / (met + missed) : null };
    }
    return out;
  };
  const sla = compliance(resolution);
  const slaFirstResponse = compliance(firstResponse);

  const rated = all.filter((t) => t.rating !== null && inPeriod(t.ratedAt));
  const agents = new Map<string, Report['agents'][number]>();
  const agent = (email: string) => {
    if (!agents.has(email)) agents.set(email, { agent: email, open: 0, resolved: 0, replies: 0, timeSpentMinutes: 0 });
    return agents.get(email) as Report['agents'][number];
  };
  for (const a of config.agents) agent(a.email);
  for (const t of open) if (t.assignee) agent(t.assignee).open++;
  const byAgent = (actor: string) => (actor.startsWith('agent:') ? actor.slice('agent:'.length) : null);
  for (const e of lastResolved) {
    const who = byAgent(e.actor);
    if (who) agent(who).resolved++;
  }
  for (const e of evs) {
    const who = byAgent(e.actor);
    if (who && e.type === 'time_spent') agent(who).timeSpentMinutes += Number(e.to) || 0;
  }
  for (const r of replies) if (r.from) agent(r.from).replies += r.n;

  return {
    period: { since: new Date(since).toISOString(), until: new Date(until).toISOString(), timezone: tz, businessHours: Boolean(hours) },
    perDay: [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([d, v]) => ({ day: d, ...v })),
    open: { assignee: by('assignee'), queue: by('queue'), priority: by('priority'), severity: by('severity'), status: by('status'), category: by('category') },
    firstResponse: timeStat(created.filter((t) => t.firstResponseAt !== null).map((t) => elapsed(t.createdAt, t.firstResponseAt as number))),
    resolution: timeStat(created.filter((t) => t.resolvedAt !== null).map((t) => elapsed(t.createdAt, t.resolvedAt as number))),
    messagesPerClosedTicket: { tickets: closed.length, average: closed.length > 0 ? closed.reduce((s, t) => s + (perTicketCount.get(t.id) ?? 0), 0) / closed.length : null },
    sla,
    slaFirstResponse,
    ratings: {
      count: rated.length,
      average: rated.length > 0 ? rated.reduce((s, t) => s + (t.rating as number), 0) / rated.length : null,
      distribution: Object.fromEntries([1, 2, 3, 4, 5].map((n) => [String(n), rated.filter((t) => t.rating === n).length])),
    },
    spam: {
      caught: all.filter((t) => inPeriod(t.createdAt) && t.spamVerdict === 'spam').length,
      markedSpam: evs.filter((e) => e.type === 'status_changed' && e.to === 'spam' && e.actor !== 'system').length,
      markedNotSpam: evs.filter((e) => e.type === 'status_changed' && e.from === 'spam' && e.actor !== 'system').length,
    },
    agents: [...agents.values()].sort((a, b) => a.agent.localeCompare(b.agent)),
    ...perOrganisation(all, created, evs, config, merged, now),
    knowledge: knowledgeUse(rows.agentReplied, all, evs, merged),
  };
}

/**
 * Which canned answers and articles were used, and how often an article offered to the
 * customer was followed by a resolution without an agent reply: the ticket is resolved or
 * closed now (not merged, not spam) and no agent ever replied on it.
 */
function knowledgeUse(replied: Set<number>, all: ReportTicket[], evs: ReportEvent[], merged: Set<number>): Report['knowledge'] {
  const status = new Map(all.map((t) => [t.id, t.status]));
  const selfSolved = (ticketId: number) => ['resolved', 'closed'].includes(status.get(ticketId) ?? '') && !merged.has(ticketId) && !replied.has(ticketId);
  const articles = new Map<string, Report['knowledge']['articles'][number]>();
  const article = (id: string) => {
    if (!articles.has(id)) articles.set(id, { id, suggestedToAgents: 0, offeredToCustomers: 0, solvedWithoutAgentReply: 0 });
    return articles.get(id) as Report['knowledge']['articles'][number];
  };
  const offeredTickets = new Set<number>();
  for (const e of evs) {
    const ids = (e.to ?? '').split(' ').filter(Boolean);
    if (e.type === 'articles_suggested') for (const id of ids) article(id).suggestedToAgents++;
    if (e.type === 'articles_offered') {
      offeredTickets.add(e.ticketId);
      for (const id of ids) {
        article(id).offeredToCustomers++;
        if (selfSolved(e.ticketId)) article(id).solvedWithoutAgentReply++;
      }
    }
  }
  const solved = [...offeredTickets].filter(selfSolved).length;
  return {
    answers: Object.entries(count(evs.filter((e) => e.type === 'answer_used').map((e) => e.to ?? '')))
      .map(([name, uses]) => ({ name, uses }))
      .sort((a, b) => b.uses - a.uses || a.name.localeCompare(b.name)),
    articles: [...articles.values()].sort((a, b) => b.offeredToCustomers + b.suggestedToAgents - (a.offeredToCustomers + a.suggestedToAgents) || a.id.localeCompare(b.id)),
    offered: { tickets: offeredTickets.size, solvedWithoutAgentReply: solved, share: offeredTickets.size > 0 ? solved / offeredTickets.size : null },
  };
}

/**
 * The organisation side of the report: resolution compliance of the tickets opened in the
 * period per organisation, `#time` hours against the hours its current contract includes,
 * hours per month, and the list of breaches.
 */
function perOrganisation(all: ReportTicket[], created: ReportTicket[], evs: ReportEvent[], config: Config, merged: Set<number>, now: number): Pick<Report, 'organisations' | 'hoursByMonth' | 'breaches'> {
  const byId = new Map(all.map((t) => [t.id, t]));
  const orgs = new Map<string, Report['organisations'][number]>();
  const org = (name: string) => {
    let o = orgs.get(name);
    if (!o) {
      // Hours are set against the contract in force now (else the latest one).
      const configured = config.organisations.find((x) => x.name === name);
      const contract = configured ? (contractOn(configured, localDateString(now, config.helpdesk.timezone))?.contract ?? null) : null;
      o = { organisation: name, tickets: 0, resolvedInTime: 0, resolvedLate: 0, compliance: null, answeredInTime: 0, answeredLate: 0, firstResponseCompliance: null, hoursUsed: 0, contract: contract?.name ?? null, hoursIncluded: contract?.hours ?? null };
      orgs.set(name, o);
    }
    return o;
  };
  for (const t of created) {
    if (!t.organisation || merged.has(t.id)) continue;
    const o = org(t.organisation);
    o.tickets++;
    const resolved = resolution(t, now);
    if (resolved === 'in time') o.resolvedInTime++;
    if (resolved === 'late') o.resolvedLate++;
    const answered = firstResponse(t, now);
    if (answered === 'in time') o.answeredInTime++;
    if (answered === 'late') o.answeredLate++;
  }
  const months = new Map<string, number>();
  for (const e of evs.filter((x) => x.type === 'time_spent')) {
    const name = byId.get(e.ticketId)?.organisation;
    if (!name) continue;
    const hours = (Number(e.to) || 0) / 60;
    org(name).hoursUsed += hours;
    const key = `${name}\u0000${localDateString(e.at, config.helpdesk.timezone).slice(0, 7)}`;
    months.set(key, (months.get(key) ?? 0) + hours);
  }
  for (const o of orgs.values()) {
    o.compliance = o.resolvedInTime + o.resolvedLate > 0 ? o.resolvedInTime / (o.resolvedInTime + o.resolvedLate) : null;
    o.firstResponseCompliance = o.answeredInTime + o.answeredLate > 0 ? o.answeredInTime / (o.answeredInTime + o.answeredLate) : null;
    o.hoursUsed = Math.round(o.hoursUsed * 100) / 100;
  }
  return {
    organisations: [...orgs.values()].sort((a, b) => a.organisation.localeCompare(b.organisation)),
    hoursByMonth: [...months]
      .map(([key, hours]) => ({ organisation: key.split('\u0000')[0], month: key.split('\u0000')[1], hours: Math.round(hours * 100) / 100 }))
      .sort((a, b) => a.organisation.localeCompare(b.organisation) || a.month.localeCompare(b.month)),
    breaches: evs
      .filter((e) => e.type === 'sla_breach')
      .map((e) => ({ ref: byId.get(e.ticketId)?.ref ?? String(e.ticketId), organisation: byId.get(e.ticketId)?.organisation ?? null, clock: (e.to ?? '').split(':')[0], severity: (e.to ?? '').split(':')[1] ?? e.to ?? '', at: new Date(e.at).toISOString() }))
      .sort((a, b) => a.at.localeCompare(b.at)),
  };
}

/**
 * How a ticket did on one SLA clock: done by its due time, done later or not done and past due
 * while the clock runs (a pending ticket's clock stands still), or neither yet / no clock.
 */
type ClockVerdict = 'in time' | 'late' | null;

function clockVerdict(due: number | null, done: number | null, pausedAt: number | null, now: number): ClockVerdict {
  if (due === null) return null;
  if (done !== null) return done <= due ? 'in time' : 'late';
  return pausedAt === null && now > due ? 'late' : null;
}

const resolution = (t: ReportTicket, now: number) => clockVerdict(t.dueAt, t.resolvedAt ?? (t.status === 'closed' ? t.closedAt : null), t.pausedAt, now);
const firstResponse = (t: ReportTicket, now: number) => clockVerdict(t.firstResponseDueAt, t.firstResponseAt, t.pausedAt, now);

/** The latest of each ticket's events (events come in any order). */
function lastEventPerTicket<E extends { ticketId: number; at: number }>(evs: E[]): E[] {
  const last = new Map<number, E>();
  for (const e of evs) if ((last.get(e.ticketId)?.at ?? -Infinity) <= e.at) last.set(e.ticketId, e);
  return [...last.values()];
}

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Average and 90th percentile (nearest rank) of durations in ms, reported in minutes. */
export function timeStat(ms: number[]): TimeStat {
  if (ms.length === 0) return { count: 0, averageMinutes: null, p90Minutes: null };
  const sorted = [...ms].sort((a, b) => a - b);
  const p90 = sorted[Math.ceil(0.9 * sorted.length) - 1];
  const round = (x: number) => Math.round((x / 60000) * 10) / 10;
  return { count: ms.length, averageMinutes: round(ms.reduce((s, x) => s + x, 0) / ms.length), p90Minutes: round(p90) };
}
