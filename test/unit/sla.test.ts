import type { Config } from '../../src/config/schema';
import { zonedTime } from '../../src/lib/local-time';
import { addBusinessTime, businessElapsed, dueDate, firstResponseDue, movedBy } from '../../src/pipeline/sla';

const hours = { days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], start: '09:00', end: '18:00' };
const H = 3_600_000;
const desk = { timeZone: 'Europe/Madrid', hours, holidays: new Set<string>() };
const madrid = (y: number, m: number, d: number, hh: number, mm = 0) => zonedTime(y, m - 1, d, hh, mm, 'Europe/Madrid');

describe('SLA due dates', () => {
  it('without business hours: arrival + target', () => {
    const config = { sla: { critical: 4 * H }, helpdesk: { timezone: 'UTC' } } as unknown as Config;
    expect(dueDate(1000, 'critical', config)).toEqual({ at: 1000 + 4 * H, reason: 'sla.critical (240 min) from arrival' });
  });

  it('within one business day', () => {
    expect(addBusinessTime(madrid(2026, 11, 4, 10), 4 * H, desk)).toBe(madrid(2026, 11, 4, 14));
  });

  it('arrival before opening starts the clock at opening', () => {
    expect(addBusinessTime(madrid(2026, 11, 4, 7), 2 * H, desk)).toBe(madrid(2026, 11, 4, 11));
  });

  it('across a weekend: Friday 16:00 + 4 h = Monday 11:00', () => {
    expect(addBusinessTime(madrid(2026, 11, 6, 16), 4 * H, desk)).toBe(madrid(2026, 11, 9, 11));
  });

  it('arrival on Saturday counts from Monday 09:00', () => {
    expect(addBusinessTime(madrid(2026, 11, 7, 12), 12 * H, desk)).toBe(madrid(2026, 11, 10, 12));
  });

  it('across the end of daylight saving time (25 October 2026 in Madrid): wall-clock hours stay right', () => {
    // Friday 23 Oct 17:00 CEST + 2 h = Monday 26 Oct 10:00 CET: 25 h of real time plus the extra DST hour.
    const due = addBusinessTime(madrid(2026, 10, 23, 17), 2 * H, desk);
    expect(due).toBe(madrid(2026, 10, 26, 10));
    expect(new Date(due).toISOString()).toBe('2026-10-26T09:00:00.000Z');
    expect(new Date(madrid(2026, 10, 23, 17)).toISOString()).toBe('2026-10-23T15:00:00.000Z');
  });

  it('across the start of daylight saving time (29 March 2026)', () => {
    expect(new Date(addBusinessTime(madrid(2026, 3, 27, 17), 2 * H, desk)).toISOString()).toBe('2026-03-30T08:00:00.000Z');
  });

  it('skips holidays: Friday 16:00 + 4 h with Monday a holiday = Tuesday 11:00', () => {
    const holidays = { ...desk, holidays: new Set(['2026-12-07']) };
    expect(addBusinessTime(madrid(2026, 12, 4, 16), 4 * H, holidays)).toBe(madrid(2026, 12, 8, 11));
    expect(businessElapsed(madrid(2026, 12, 4, 16), madrid(2026, 12, 8, 11), holidays)).toBe(4 * H);
  });

  it('the worked example: critical from a Gold contract, Friday 16:00, Monday a holiday; answer within 1 h, resolve within 4 h', () => {
    const config = {
      helpdesk: { timezone: 'Europe/Madrid', businessHours: hours, holidays: ['2026-12-07'] },
      sla: { critical: 8 * H, firstResponse: {} },
      levels: { gold: { sla: { critical: 4 * H, firstResponse: { critical: H } } } },
    } as unknown as Config;
    const arrival = madrid(2026, 12, 4, 16);
    expect(firstResponseDue(arrival, 'critical', config, 'gold')?.at).toBe(madrid(2026, 12, 4, 17));
    expect(dueDate(arrival, 'critical', config, 'gold').at).toBe(madrid(2026, 12, 8, 11));
    // Without the contract: the desk's 8 h (Friday 2 h, Tuesday 6 h), and no first-response clock.
    expect(dueDate(arrival, 'critical', config).at).toBe(madrid(2026, 12, 8, 15));
    expect(firstResponseDue(arrival, 'critical', config)).toBeNull();
    // Pending from Friday 17:00 to Tuesday 10:00: 1 business hour of pause (Tue 09–10) plus
    // Friday 17–18: the resolution due moves by 2 business hours, to Tuesday 13:00.
    expect(movedBy(madrid(2026, 12, 8, 11), madrid(2026, 12, 4, 17), madrid(2026, 12, 8, 10), config)).toBe(madrid(2026, 12, 8, 13));
  });

  it('without business hours a pause moves the due time by the wall-clock time', () => {
    const config = { helpdesk: { timezone: 'UTC', holidays: [] }, sla: {} } as unknown as Config;
    expect(movedBy(10 * H, 2 * H, 5 * H, config)).toBe(13 * H);
  });

  it('a country calendar (date-holidays) adds its public holidays: 8 December is a holiday in Spain', () => {
    const config = { helpdesk: { timezone: 'Europe/Madrid', businessHours: hours, holidays: [], holidayCalendar: { country: 'ES', region: 'MD' } }, sla: { critical: 4 * H, firstResponse: {} }, levels: {} } as unknown as Config;
    // Friday 4 Dec 16:00 + 4 h: Friday 2 h, Monday 7 (substitute for the Constitution Day) and
    // Tuesday 8 (Immaculate Conception) are public holidays: Wednesday 9 Dec 11:00.
    expect(dueDate(madrid(2026, 12, 4, 16), 'critical', config).at).toBe(madrid(2026, 12, 9, 11));
  });
});
