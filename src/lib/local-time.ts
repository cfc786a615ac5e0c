import type { WEEKDAYS } from '../config/schema';

export type Weekday = (typeof WEEKDAYS)[number];

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minutes since midnight of an instant, on the wall clock of a time zone. */
export function localTime(ms: number, timeZone: string): { weekday: Weekday; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { weekday: parts.weekday.toLowerCase().slice(0, 3) as Weekday, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether an instant falls inside business hours ("09:00"–"18:00" on the given days). */
export function inBusinessHours(ms: number, timeZone: string, hours: { days: Weekday[]; start: string; end: string }): boolean {
  const { weekday, minutes } = localTime(ms, timeZone);
  const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return hours.days.includes(weekday) && minutes >= toMinutes(hours.start) && minutes < toMinutes(hours.end);
}
