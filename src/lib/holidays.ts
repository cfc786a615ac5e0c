import type HolidaysClass from 'date-holidays';

let loaded: typeof HolidaysClass | null = null;

/**
 * date-holidays, loaded the first time a holiday calendar is used: its data takes ~250 ms to
 * load (measured on these 2 cores), which every command, an MTA's `helpdesk ingest` above all,
 * would pay at start for a feature most desks do not configure.
 */
export function holidaysLib(): typeof HolidaysClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  loaded ??= require('date-holidays') as typeof HolidaysClass;
  return loaded;
}
