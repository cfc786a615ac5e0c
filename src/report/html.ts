import type { Report } from './figures';
import { periodDays, reportText } from './text';

/** The page's content width; every chart is drawn at its final size (never scaled down). */
const PAGE_WIDTH = 1040;
/** Days shown one by one up to this many; longer periods are shown per week. */
const MAX_DAILY = 45;
/** The least room a label on the x axis gets before labels are thinned out. */
const LABEL_SPACE = 44;

/**
 * `helpdesk report --html FILE`: one self-contained page. Charts are inline SVG drawn here,
 * styles are inline: the page loads nothing from anywhere, so it opens offline and can be
 * mailed as an attachment.
 */
export function reportHtml(r: Report, title: string): string {
  const buckets = ticketBuckets(r.perDay);
  const hours = (m: number | null) => (m === null ? null : Math.round((m / 60) * 10) / 10);
  const charts = [
    chart(buckets.weekly ? 'Tickets per week (week starting)' : 'Tickets per day', buckets.labels, [
      { name: 'opened', color: '#2b6cb0', values: buckets.opened },
      { name: 'resolved', color: '#38a169', values: buckets.resolved },
      { name: 'closed', color: '#718096', values: buckets.closed },
    ], { width: PAGE_WIDTH }),
    chart('First response and resolution (hours)', ['first response', 'resolution'], [
      { name: 'average', color: '#2b6cb0', values: [hours(r.firstResponse.averageMinutes), hours(r.resolution.averageMinutes)] },
      { name: '90th percentile', color: '#c05621', values: [hours(r.firstResponse.p90Minutes), hours(r.resolution.p90Minutes)] },
    ]),
    chart('SLA compliance by severity (%)', Object.keys(r.sla), [
      { name: 'resolution', color: '#38a169', values: Object.values(r.sla).map((s) => percent(s.compliance)) },
      { name: 'first response', color: '#2b6cb0', values: Object.values(r.slaFirstResponse).map((s) => percent(s.compliance)) },
    ], { max: 100, zeros: true }),
    chart('Open tickets by status', Object.keys(r.open.status), [{ name: 'open', color: '#d69e2e', values: Object.values(r.open.status) }]),
    chart('Open tickets by queue', Object.keys(r.open.queue), [{ name: 'open', color: '#805ad5', values: Object.values(r.open.queue) }]),
    chart('Ratings', Object.keys(r.ratings.distribution).map((k) => `${k}★`), [{ name: 'ratings', color: '#dd6b20', values: Object.values(r.ratings.distribution) }]),
  ];
  const agents = htmlTable(
    ['Agent', 'Open', 'Resolved', 'Replies', 'Time spent (h)'],
    r.agents.map((a) => [a.agent, String(a.open), String(a.resolved), String(a.replies), (a.timeSpentMinutes / 60).toFixed(1)]),
  );
  const shown = (c: number | null) => (c === null ? 'no data' : `${(c * 100).toFixed(1)}%`);
  const sla = htmlTable(
    ['Severity', 'Resolved in time', 'Late', 'Compliance', 'Answered in time', 'Late', 'Compliance'],
    Object.entries(r.sla).map(([sev, s]) => {
      const f = r.slaFirstResponse[sev];
      return [sev, String(s.met), String(s.missed), shown(s.compliance), String(f.met), String(f.missed), shown(f.compliance)];
    }),
  );
  const organisations = htmlTable(
    ['Organisation', 'Tickets', 'Resolved in time', 'Late', 'Compliance', 'Answered in time', 'Late', 'Compliance', 'Hours used', 'Hours included', 'Contract'],
    r.organisations.map((o) => [o.organisation, String(o.tickets), String(o.resolvedInTime), String(o.resolvedLate), shown(o.compliance), String(o.answeredInTime), String(o.answeredLate), shown(o.firstResponseCompliance), o.hoursUsed.toFixed(2), o.hoursIncluded === null ? '-' : String(o.hoursIncluded), o.contract ?? '-']),
  );
  const breaches = htmlTable(['Ticket', 'Organisation', 'Severity', 'Clock', 'At (UTC)'], r.breaches.map((b) => [b.ref, b.organisation ?? '-', b.severity, b.clock.replace('_', ' '), b.at.slice(0, 16).replace('T', ' ')]));
  const answers = htmlTable(['Canned answer', 'Uses'], r.knowledge.answers.map((a) => [a.name, String(a.uses)]));
  const articles = htmlTable(
    ['Article', 'Suggested to agents', 'Offered to customers', 'Solved without an agent reply'],
    r.knowledge.articles.map((a) => [a.id, String(a.suggestedToAgents), String(a.offeredToCustomers), String(a.solvedWithoutAgentReply)]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;color:#222;margin:24px;max-width:${PAGE_WIDTH + 40}px}
h1{font-size:22px}h2{font-size:17px;margin:22px 0 8px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:8px;max-width:none}
table{border-collapse:collapse;font-size:14px}th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
pre{background:#f7f7f7;padding:12px;font-size:13px;overflow-x:auto}
</style></head>
<body>
<h1>${esc(title)}</h1>
<p>${esc(periodDays(r))} · ${esc(r.period.timezone)}${r.period.businessHours ? ' · times in business hours' : ''}</p>
<div class="charts">${charts.join('\n')}</div>
<h2>Agents</h2>
${agents}
<h2>SLA compliance</h2>
${sla}
<h2>Organisations</h2>
${organisations}
<h2>SLA breaches</h2>
${breaches}
<h2>Canned answers and articles</h2>
${answers}
${articles}
<p>Tickets offered articles: ${r.knowledge.offered.tickets}; resolved or closed without an agent reply: ${r.knowledge.offered.solvedWithoutAgentReply} (${shown(r.knowledge.offered.share)}).</p>
<h2>All figures</h2>
<pre>${esc(reportText(r))}</pre>
</body></html>
`;
}

function percent(c: number | null): number | null {
  return c === null ? null : Math.round(c * 1000) / 10;
}

/** Per day, or per week (from the first day) when the period is longer than MAX_DAILY days. */
export function ticketBuckets(days: Report['perDay']): { weekly: boolean; labels: string[]; opened: number[]; resolved: number[]; closed: number[] } {
  const weekly = days.length > MAX_DAILY;
  const size = weekly ? 7 : 1;
  const out = { weekly, labels: [] as string[], opened: [] as number[], resolved: [] as number[], closed: [] as number[] };
  for (let i = 0; i < days.length; i += size) {
    const group = days.slice(i, i + size);
    out.labels.push(group[0].day.slice(5));
    out.opened.push(group.reduce((s, d) => s + d.opened, 0));
    out.resolved.push(group.reduce((s, d) => s + d.resolved, 0));
    out.closed.push(group.reduce((s, d) => s + d.closed, 0));
  }
  return out;
}

interface Series {
  name: string;
  color: string;
  /** null: nothing to measure (drawn as "no data", never as a bar of 0). */
  values: (number | null)[];
}

/**
 * A grouped bar chart as inline SVG at its final size (`width`, default as narrow as its
 * bars allow), with numbers over the bars when they fit (0 too with `zeros`, where a 0 is news:
 * 0% compliance), x labels thinned out so that none overlap, and a legend.
 */
function chart(title: string, labels: string[], series: Series[], opts: { width?: number; max?: number; zeros?: boolean } = {}): string {
  const width = opts.width ?? Math.min(PAGE_WIDTH, Math.max(340, 60 + labels.length * (series.length * 26 + 18)));
  const height = 260;
  const left = 40;
  const top = 34;
  const bottom = 52;
  const plot = height - top - bottom;
  const plotWidth = width - left - 10;
  const max = opts.max ?? niceMax(Math.max(1, ...series.flatMap((s) => s.values.map((v) => v ?? 0))));
  const group = plotWidth / Math.max(1, labels.length);
  const bar = Math.max(3, Math.min(28, (group - 6) / series.length));
  const every = Math.max(1, Math.ceil(LABEL_SPACE / group));
  const parts: string[] = [];
  labels.forEach((label, i) => {
    const x0 = left + i * group;
    series.forEach((s, j) => {
      const v = s.values[i];
      const x = x0 + j * bar;
      if (v === null || v === undefined) {
        parts.push(`<text class="no-data" x="${(x + bar / 2).toFixed(1)}" y="${top + plot - 4}" font-size="11" fill="#888" text-anchor="middle">no data</text>`);
        return;
      }
      const h = (v / max) * plot;
      parts.push(`<rect x="${x.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${label} ${s.name}: ${v}`)}</title></rect>`);
      if ((v > 0 || opts.zeros) && bar >= 14) parts.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${(top + plot - h - 3).toFixed(1)}" font-size="11" text-anchor="middle">${v}</text>`);
    });
    if (i % every === 0) parts.push(`<text class="x-label" x="${(x0 + (bar * series.length) / 2).toFixed(1)}" y="${top + plot + 16}" font-size="12" text-anchor="middle">${esc(label)}</text>`);
  });
  const legend = series.map((s, j) => `<rect x="${left + j * 150}" y="${height - 18}" width="12" height="12" fill="${s.color}"/><text x="${left + 18 + j * 150}" y="${height - 8}" font-size="12">${esc(s.name)}</text>`).join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<text x="8" y="20" font-size="15" font-weight="bold">${esc(title)}</text>
<line x1="${left - 2}" y1="${top + plot}" x2="${width - 8}" y2="${top + plot}" stroke="#999"/>
<text x="${left - 6}" y="${top + 5}" font-size="11" text-anchor="end">${max}</text>
<text x="${left - 6}" y="${top + plot}" font-size="11" text-anchor="end">0</text>
${parts.join('\n')}
${legend}
</svg>`;
}

/** 1, 2, 5, 10, 20, 50… at or above the value, so the axis reads as a round number. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v) ?? 10 * p;
}

function htmlTable(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
