import { holidaysLib } from '../lib/holidays';
import type { Config, Severity } from '../config/schema';
import { localDate, zonedTime } from '../lib/local-time';
import { levelTarget } from './customers';

type Hours = NonNullable<Config['helpdesk']['businessHours']>;

/** When the desk's clocks run: business hours in a time zone, minus holidays (`YYYY-MM-DD`, local). */
export interface Calendar {
  timeZone: string;
  hours: Hours;
  holidays: { has(date: string): boolean };
}

/**
 * The desk's calendar, or null when every hour counts (no `helpdesk.businessHours`). Holidays
 * are `helpdesk.holidays` and, with `helpdesk.holidayCalendar`, the public holidays of that
 * country or region (date-holidays).
 */
export function deskCalendar(config: Config): Calendar | null {
  const hours = config.helpdesk.businessHours;
  if (!hours) return null;
  const listed = new Set(config.helpdesk.holidays);
  const region = config.helpdesk.holidayCalendar;
  return { timeZone: config.helpdesk.timezone, hours, holidays: { has: (date) => listed.has(date) || (region !== undefined && publicHolidays(region, Number(date.slice(0, 4))).has(date)) } };
}

const yearsOfHolidays = new Map<string, Set<string>>();

/** A country's (or region's) public holidays in a year, as `YYYY-MM-DD`; computed once per year. */
function publicHolidays(region: { country: string; region?: string }, year: number): Set<string> {
  const key = `${region.country} ${region.region ?? ''} ${year}`;
  let days = yearsOfHolidays.get(key);
  if (!days) {
    const calendar = region.region ? new (holidaysLib())(region.country, region.region) : new (holidaysLib())(region.country);
    days = new Set(calendar.getHolidays(year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
    yearsOfHolidays.set(key, days);
  }
  return days;
}

/**
 * The resolution due time of a ticket: arrival + the resolution target of its severity
 * (its contract level's, else `sla.<severity>`), counted in business hours of the help desk's time zone, skipping
 * holidays, when business hours are configured (a 4 h target that starts Friday 16:00 with
 * 09:00–18:00 hours ends Monday 11:00), else in wall-clock time.
 */
export function dueDate(arrival: number, severity: Severity, config: Config, level: string | null = null): { at: number; reason: string } {
  const own = levelTarget(config, level, severity, 'resolution');
  return own !== undefined ? clockDue(arrival, own, `level ${level} ${severity}`, config) : clockDue(arrival, config.sla[severity], `sla.${severity}`, config);
}

/** The first-response due time, where the level or `sla.firstResponse.<severity>` sets a target; else null. */
export function firstResponseDue(arrival: number, severity: Severity, config: Config, level: string | null = null): { at: number; reason: string } | null {
  const own = levelTarget(config, level, severity, 'first_response');
  if (own !== undefined) return clockDue(arrival, own, `level ${level} firstResponse.${severity}`, config);
  const target = config.sla.firstResponse[severity];
  return target === undefined ? null : clockDue(arrival, target, `sla.firstResponse.${severity}`, config);
}

function clockDue(arrival: number, target: number, key: string, config: Config): { at: number; reason: string } {
  const minutes = Math.round(target / 60000);
  const calendar = deskCalendar(config);
  if (!calendar) return { at: arrival + target, reason: `${key} (${minutes} min) from arrival` };
  const { hours, timeZone } = calendar;
  return {
    at: addBusinessTime(arrival, target, calendar),
    reason: `${key} (${minutes} min) of business hours (${hours.days.join(',')} ${hours.start}-${hours.end} ${timeZone}${config.helpdesk.holidays.length > 0 || config.helpdesk.holidayCalendar ? ', without holidays' : ''}) from arrival`,
  };
}

/** Time that counts between two instants: business time with a calendar, else wall-clock time. */
export function countedTime(from: number, to: number, config: Config): number {
  const calendar = deskCalendar(config);
  return calendar ? businessElapsed(from, to, calendar) : Math.max(0, to - from);
}

/** A due time moved by the counted time between `from` and `to` (a pause while pending). */
export function movedBy(due: number, from: number, to: number, config: Config): number {
  const calendar = deskCalendar(config);
  if (!calendar) return due + Math.max(0, to - from);
  return addBusinessTime(due, businessElapsed(from, to, calendar), calendar);
}

/** One open stretch of a business day, or null on a closed day or holiday. */
function openHours(y: number, m: number, d: number, weekday: string, c: Calendar): { open: number; close: number } | null {
  const date = `${y}-${String(m + 1).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  if (!c.hours.days.includes(weekday as Hours['days'][number]) || c.holidays.has(date)) return null;
  const [openH, openM] = c.hours.start.split(':').map(Number);
  const [closeH, closeM] = c.hours.end.split(':').map(Number);
  return { open: zonedTime(y, m, d, openH, openM, c.timeZone), close: zonedTime(y, m, d, closeH, closeM, c.timeZone) };
}

/** `start` + `durationMs` counting only the business hours, day by day. */
export function addBusinessTime(start: number, durationMs: number, c: Calendar): number {
  let remaining = durationMs;
  let t = start;
  for (let day = 0; day < 3660; day++) {
    const { y, m, d, weekday } = localDate(t, c.timeZone);
    const today = openHours(y, m, d, weekday, c);
    if (today) {
      if (t < today.open) t = today.open;
      if (t < today.close) {
        if (remaining <= today.close - t) return t + remaining;
        remaining -= today.close - t;
      }
    }
    t = zonedTime(y, m, d + 1, 0, 0, c.timeZone);
  }
  throw new Error('business hours never open: check helpdesk.businessHours and helpdesk.holidays');
}

/** Milliseconds of business hours between two instants (the inverse of addBusinessTime). */
export function businessElapsed(from: number, to: number, c: Calendar): number {
  if (to <= from) return 0;
  let total = 0;
  let t = from;
  for (let day = 0; day < 3660 && t < to; day++) {
    const { y, m, d, weekday } = localDate(t, c.timeZone);
    const today = openHours(y, m, d, weekday, c);
    if (today) {
      const open = Math.max(t, today.open);
      const close = Math.min(to, today.close);
      if (close > open) total += close - open;
    }
    t = zonedTime(y, m, d + 1, 0, 0, c.timeZone);
  }
  return total;
}
