import { table } from '../lib/text-table';
import type { Report, TimeStat } from './figures';

/** `helpdesk report` as readable text tables. */
export function reportText(r: Report): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', title, '-'.repeat(title.length));
  out.push(`Help desk report ${periodDays(r)} (${r.period.timezone}${r.period.businessHours ? ', times in business hours' : ''})`);

  section('Tickets per day');
  out.push(table(['DAY', 'OPENED', 'RESOLVED', 'CLOSED'], r.perDay.map((d) => [d.day, String(d.opened), String(d.resolved), String(d.closed)])));

  section('Open tickets');
  for (const [key, counts] of Object.entries(r.open)) out.push(`by ${key}: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);

  section('Times');
  const t = (s: TimeStat) => (s.count === 0 ? '-' : `${minutes(s.averageMinutes)} average, ${minutes(s.p90Minutes)} 90th percentile (${s.count} tickets)`);
  out.push(`first response: ${t(r.firstResponse)}`);
  out.push(`resolution:     ${t(r.resolution)}`);
  out.push(`messages per closed ticket: ${r.messagesPerClosedTicket.average === null ? '-' : r.messagesPerClosedTicket.average.toFixed(1)} (${r.messagesPerClosedTicket.tickets} closed)`);

  section('SLA compliance');
  const pct = (c: number | null) => (c === null ? '-' : `${(c * 100).toFixed(1)}%`);
  out.push(
    table(
      ['SEVERITY', 'RESOLVED IN TIME', 'LATE', 'COMPLIANCE', 'ANSWERED IN TIME', 'LATE', 'COMPLIANCE'],
      Object.entries(r.sla).map(([sev, s]) => {
        const f = r.slaFirstResponse[sev];
        return [sev, String(s.met), String(s.missed), pct(s.compliance), String(f.met), String(f.missed), pct(f.compliance)];
      }),
    ),
  );

  section('Ratings');
  out.push(`${r.ratings.count} ratings, average ${r.ratings.average === null ? '-' : r.ratings.average.toFixed(2)}; ${Object.entries(r.ratings.distribution).map(([k, n]) => `${k}★ ${n}`).join(', ')}`);

  section('Spam');
  out.push(`caught ${r.spam.caught}; marked spam by staff ${r.spam.markedSpam}; taken out of spam by staff ${r.spam.markedNotSpam}`);

  section('Organisations');
  out.push(
    r.organisations.length === 0
      ? 'none (config/customers.yaml)'
      : table(
          ['ORGANISATION', 'TICKETS', 'RESOLVED IN TIME', 'LATE', 'COMPLIANCE', 'ANSWERED IN TIME', 'LATE', 'COMPLIANCE', 'HOURS', 'INCLUDED', 'CONTRACT'],
          r.organisations.map((o) => [o.organisation, String(o.tickets), String(o.resolvedInTime), String(o.resolvedLate), pct(o.compliance), String(o.answeredInTime), String(o.answeredLate), pct(o.firstResponseCompliance), o.hoursUsed.toFixed(2), o.hoursIncluded === null ? '-' : String(o.hoursIncluded), o.contract ?? '-']),
        ),
  );
  if (r.hoursByMonth.length > 0) out.push('', table(['ORGANISATION', 'MONTH', 'HOURS'], r.hoursByMonth.map((h) => [h.organisation, h.month, h.hours.toFixed(2)])));

  section('SLA breaches');
  out.push(r.breaches.length === 0 ? 'none' : table(['TICKET', 'ORGANISATION', 'SEVERITY', 'CLOCK', 'AT (UTC)'], r.breaches.map((b) => [b.ref, b.organisation ?? '-', b.severity, b.clock.replace('_', ' '), b.at.slice(0, 16).replace('T', ' ')])));

  section('Canned answers and articles');
  const k = r.knowledge;
  out.push(k.answers.length === 0 ? 'no canned answer used' : table(['ANSWER', 'USES'], k.answers.map((a) => [a.name, String(a.uses)])));
  if (k.articles.length > 0) out.push('', table(['ARTICLE', 'SUGGESTED TO AGENTS', 'OFFERED TO CUSTOMERS', 'SOLVED WITHOUT AN AGENT REPLY'], k.articles.map((a) => [a.id, String(a.suggestedToAgents), String(a.offeredToCustomers), String(a.solvedWithoutAgentReply)])));
  out.push('', `tickets offered articles: ${k.offered.tickets}; resolved or closed without an agent reply: ${k.offered.solvedWithoutAgentReply} (${pct(k.offered.share)})`);

  section('Agents');
  out.push(table(['AGENT', 'OPEN', 'RESOLVED', 'REPLIES', 'TIME SPENT'], r.agents.map((a) => [a.agent, String(a.open), String(a.resolved), String(a.replies), minutes(a.timeSpentMinutes)])));
  return out.join('\n');
}

function minutes(m: number | null): string {
  if (m === null) return '-';
  if (m < 60) return `${Math.round(m)} min`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${Math.round(m - h * 60)} min` : `${(m / 1440).toFixed(1)} days`;
}

/** The first and last day of the period, as days in the help desk's time zone. */
export function periodDays(r: Report): string {
  return `${r.perDay[0]?.day ?? r.period.since.slice(0, 10)} – ${r.perDay.at(-1)?.day ?? r.period.until.slice(0, 10)}`;
}
