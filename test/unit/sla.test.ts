import type { Config } from '../../src/config/schema';
import { zonedTime } from '../../src/lib/local-time';
import { addBusinessTime, dueDate } from '../../src/pipeline/sla';

const hours = { days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], start: '09:00', end: '18:00' };
const H = 3_600_000;
const madrid = (y: number, m: number, d: number, hh: number, mm = 0) => zonedTime(y, m - 1, d, hh, mm, 'Europe/Madrid');

describe('SLA due dates', () => {
  it('without business hours: arrival + target', () => {
    const config = { sla: { critical: 4 * H }, helpdesk: { timezone: 'UTC' } } as unknown as Config;
    expect(dueDate(1000, 'critical', config)).toEqual({ at: 1000 + 4 * H, reason: 'sla.critical (240 min) from arrival' });
  });

  it('within one business day', () => {
    expect(addBusinessTime(madrid(2026, 11, 4, 10), 4 * H, 'Europe/Madrid', hours)).toBe(madrid(2026, 11, 4, 14));
  });

  it('arrival before opening starts the clock at opening', () => {
    expect(addBusinessTime(madrid(2026, 11, 4, 7), 2 * H, 'Europe/Madrid', hours)).toBe(madrid(2026, 11, 4, 11));
  });

  it('across a weekend: Friday 16:00 + 4 h = Monday 11:00', () => {
    expect(addBusinessTime(madrid(2026, 11, 6, 16), 4 * H, 'Europe/Madrid', hours)).toBe(madrid(2026, 11, 9, 11));
  });

  it('arrival on Saturday counts from Monday 09:00', () => {
    expect(addBusinessTime(madrid(2026, 11, 7, 12), 12 * H, 'Europe/Madrid', hours)).toBe(madrid(2026, 11, 10, 12));
  });

  it('across the end of daylight saving time (25 October 2026 in Madrid): wall-clock hours stay right', () => {
    // Friday 23 Oct 17:00 CEST + 2 h = Monday 26 Oct 10:00 CET: 25 h of real time plus the extra DST hour.
    const due = addBusinessTime(madrid(2026, 10, 23, 17), 2 * H, 'Europe/Madrid', hours);
    expect(due).toBe(madrid(2026, 10, 26, 10));
    expect(new Date(due).toISOString()).toBe('2026-10-26T09:00:00.000Z');
    expect(new Date(madrid(2026, 10, 23, 17)).toISOString()).toBe('2026-10-23T15:00:00.000Z');
  });

  it('across the start of daylight saving time (29 March 2026)', () => {
    expect(new Date(addBusinessTime(madrid(2026, 3, 27, 17), 2 * H, 'Europe/Madrid', hours)).toISOString()).toBe('2026-03-30T08:00:00.000Z');
  });
});
