import type { Report } from './figures';
import { periodDays, reportText } from './text';

/**
 * `helpdesk report --html FILE`: one self-contained page. Charts are inline SVG drawn here,
 * styles are inline: the page loads nothing from anywhere, so it opens offline and can be
 * mailed as an attachment.
 */
export function reportHtml(r: Report, title: string): string {
  const days = r.perDay;
  const charts = [
    chart('Tickets per day', days.map((d) => d.day.slice(5)), [
      { name: 'opened', color: '#2b6cb0', values: days.map((d) => d.opened) },
      { name: 'resolved', color: '#38a169', values: days.map((d) => d.resolved) },
      { name: 'closed', color: '#718096', values: days.map((d) => d.closed) },
    ]),
    chart('Open tickets by status', Object.keys(r.open.status), [{ name: 'open', color: '#d69e2e', values: Object.values(r.open.status) }]),
    chart('Open tickets by queue', Object.keys(r.open.queue), [{ name: 'open', color: '#805ad5', values: Object.values(r.open.queue) }]),
    chart('SLA compliance by severity (%)', Object.keys(r.sla), [{ name: 'compliance', color: '#38a169', values: Object.values(r.sla).map((s) => (s.compliance === null ? 0 : Math.round(s.compliance * 1000) / 10)) }], 100),
    chart('Ratings', Object.keys(r.ratings.distribution).map((k) => `${k}★`), [{ name: 'ratings', color: '#dd6b20', values: Object.values(r.ratings.distribution) }]),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;color:#222;margin:24px;max-width:1100px}
h1{font-size:20px}h2{font-size:15px;margin:18px 0 6px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:8px}
pre{background:#f7f7f7;padding:12px;font-size:12px;overflow-x:auto}
</style></head>
<body>
<h1>${esc(title)}</h1>
<p>${esc(periodDays(r))} · ${esc(r.period.timezone)}${r.period.businessHours ? ' · times in business hours' : ''}</p>
<div class="charts">${charts.join('\n')}</div>
<h2>All figures</h2>
<pre>${esc(reportText(r))}</pre>
</body></html>
`;
}

interface Series {
  name: string;
  color: string;
  values: number[];
}

/** A grouped bar chart as inline SVG, with its numbers as labels and a legend. */
function chart(title: string, labels: string[], series: Series[], fixedMax?: number): string {
  const width = Math.max(320, 40 + labels.length * (series.length * 12 + 14));
  const height = 220;
  const top = 30;
  const bottom = 40;
  const plot = height - top - bottom;
  const max = fixedMax ?? Math.max(1, ...series.flatMap((s) => s.values));
  const group = (width - 40) / Math.max(1, labels.length);
  const bar = Math.max(4, Math.min(24, (group - 6) / series.length));
  const bars: string[] = [];
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const h = (v / max) * plot;
      const x = 30 + i * group + j * bar;
      bars.push(`<rect x="${x.toFixed(1)}" y="${(top + plot - h).toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${label} ${s.name}: ${v}`)}</title></rect>`);
      if (v > 0 && labels.length <= 16) bars.push(`<text x="${(x + bar / 2).toFixed(1)}" y="${(top + plot - h - 2).toFixed(1)}" font-size="9" text-anchor="middle">${v}</text>`);
    });
    if (labels.length <= 31) bars.push(`<text x="${(30 + i * group + (bar * series.length) / 2).toFixed(1)}" y="${height - bottom + 12}" font-size="9" text-anchor="middle">${esc(label)}</text>`);
  });
  const legend = series.map((s, j) => `<rect x="${30 + j * 90}" y="${height - 14}" width="10" height="10" fill="${s.color}"/><text x="${44 + j * 90}" y="${height - 5}" font-size="10">${esc(s.name)}</text>`).join('');
  return `<svg class="chart" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<text x="8" y="16" font-size="12" font-weight="bold">${esc(title)}</text>
<line x1="28" y1="${top + plot}" x2="${width - 8}" y2="${top + plot}" stroke="#999"/>
<text x="26" y="${top + 4}" font-size="9" text-anchor="end">${max}</text>
${bars.join('\n')}
${legend}
</svg>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
