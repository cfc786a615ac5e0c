import { terminalSafe } from './terminal-safe';

/**
 * A plain text table with columns padded to their widest cell; cells are made terminal-safe
 * first, so widths hold. Hand-written on purpose (13 lines): the columns are plain for awk and
 * grep (cli-table3 draws borders), the widths must be those of the escaped text, and
 * `text-table` has not been maintained since 2013.
 */
export function table(head: string[], rawRows: string[][]): string {
  const rows = rawRows.map((r) => r.map(terminalSafe));
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** An ISO 8601 UTC time as a table shows it, to the minute (`2026-11-23 20:30`); the column says UTC. */
export function utcMinute(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
