import type { Config, Severity } from '../config/schema';
import type { Weekday } from '../lib/local-time';

type Hours = NonNullable<Config['helpdesk']['businessHours']>;

/**
 * The SLA due date of a ticket: arrival + the target for its severity, counted in business
 * hours of the help desk's time zone when business hours are configured (a 4 h target that
 * starts Friday 16:00 with 09:00–18:00 hours ends Monday 11:00), else in wall-clock time.
 */
export function dueDate(arrival: number, severity: Severity, config: Config): { at: number; reason: string } {
  const target = config.sla[severity];
  const minutes = Math.round(target / 60000);
  const hours = config.helpdesk.businessHours;
  if (!hours) return { at: arrival + target, reason: `sla.${severity} (${minutes} min) from arrival` };
  return {
    at: addBusinessTime(arrival, target, config.helpdesk.timezone, hours),
    reason: `sla.${severity} (${minutes} min) of business hours (${hours.days.join(',')} ${hours.start}-${hours.end} ${config.helpdesk.timezone}) from arrival`,
  };
}

const WEEKDAYS: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** `start` + `durationMs` counting only the business hours, day by day. */
export function addBusinessTime(start: number, durationMs: number, timeZone: string, hours: Hours): number {
  const [openH, openM] = hours.start.split(':').map(Number);
  const [closeH, closeM] = hours.end.split(':').map(Number);
  let remaining = durationMs;
  let t = start;
  for (let day = 0; day < 3660; day++) {
    const { y, m, d } = localDate(t, timeZone);
    const weekday = WEEKDAYS[new Date(Date.UTC(y, m, d)).getUTCDay()];
    if (hours.days.includes(weekday)) {
      const open = zonedTime(y, m, d, openH, openM, timeZone);
      const close = zonedTime(y, m, d, closeH, closeM, timeZone);
      if (t < open) t = open;
      if (t < close) {
        if (remaining <= close - t) return t + remaining;
        remaining -= close - t;
      }
    }
    t = zonedTime(y, m, d + 1, 0, 0, timeZone);
  }
  throw new Error('business hours never open: check helpdesk.businessHours');
}

const partsFormat = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, timeZone: string): Record<string, number> {
  let f = partsFormat.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' });
    partsFormat.set(timeZone, f);
  }
  return Object.fromEntries(f.formatToParts(ms).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

function localDate(ms: number, timeZone: string): { y: number; m: number; d: number } {
  const p = parts(ms, timeZone);
  return { y: p.year, m: p.month - 1, d: p.day };
}

/** Offset of a time zone from UTC at an instant, in ms (CEST: +2 h). */
function offset(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

const zonedCache = new Map<string, number>();

/** The instant of a wall-clock time in a time zone (month 0-based; days may overflow). */
export function zonedTime(y: number, m: number, d: number, hh: number, mm: number, timeZone: string): number {
  // Every ticket of a day asks for the same opening and closing instants: remember them.
  const key = `${timeZone} ${y} ${m} ${d} ${hh} ${mm}`;
  const known = zonedCache.get(key);
  if (known !== undefined) return known;
  if (zonedCache.size > 10_000) zonedCache.clear();
  const at = computeZonedTime(y, m, d, hh, mm, timeZone);
  zonedCache.set(key, at);
  return at;
}

function computeZonedTime(y: number, m: number, d: number, hh: number, mm: number, timeZone: string): number {
  const guess = Date.UTC(y, m, d, hh, mm);
  const first = guess - offset(guess, timeZone);
  // Around a DST change the offset at the result may differ from the one at the guess.
  return guess - offset(first, timeZone);
}
