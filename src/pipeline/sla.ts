import type { Config, Severity } from '../config/schema';
import { localDate, zonedTime } from '../lib/local-time';

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

/** `start` + `durationMs` counting only the business hours, day by day. */
export function addBusinessTime(start: number, durationMs: number, timeZone: string, hours: Hours): number {
  const [openH, openM] = hours.start.split(':').map(Number);
  const [closeH, closeM] = hours.end.split(':').map(Number);
  let remaining = durationMs;
  let t = start;
  for (let day = 0; day < 3660; day++) {
    const { y, m, d, weekday } = localDate(t, timeZone);
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

/** Milliseconds of business hours between two instants (the inverse of addBusinessTime). */
export function businessElapsed(from: number, to: number, timeZone: string, hours: Hours): number {
  if (to <= from) return 0;
  const [openH, openM] = hours.start.split(':').map(Number);
  const [closeH, closeM] = hours.end.split(':').map(Number);
  let total = 0;
  let t = from;
  for (let day = 0; day < 3660 && t < to; day++) {
    const { y, m, d, weekday } = localDate(t, timeZone);
    if (hours.days.includes(weekday)) {
      const open = Math.max(t, zonedTime(y, m, d, openH, openM, timeZone));
      const close = Math.min(to, zonedTime(y, m, d, closeH, closeM, timeZone));
      if (close > open) total += close - open;
    }
    t = zonedTime(y, m, d + 1, 0, 0, timeZone);
  }
  return total;
}
