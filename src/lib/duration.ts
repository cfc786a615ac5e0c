import { numberFormat } from './intl-formats';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The durations config files take: `90s`, `15m`, `4h`, `2d`, `1w`, `1h30m` (also the JSON Schema's pattern). */
export const DURATION = /^(\d+(\.\d+)?[smhdw])+$/;

/**
 * Parses a duration (DURATION); null when malformed. Hand-written on purpose: `ms` has no
 * compound `1h30m`, and parse-duration reads free text ("1 hour and a bit"), where a config
 * should refuse what it does not document.
 */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return null;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return total;
}

/** A duration for people, in their language: "2 days 4 hours", "45 minutes", "2 días 4 horas". */
export function formatDuration(ms: number, locale: string): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 60_000));
  for (const [unit, minutes] of [
    ['day', 1440],
    ['hour', 60],
    ['minute', 1],
  ] as const) {
    const n = Math.floor(rest / minutes);
    rest -= n * minutes;
    if (n > 0) parts.push(numberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(n));
  }
  return parts.slice(0, 2).join(' ') || numberFormat(locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' }).format(0);
}
