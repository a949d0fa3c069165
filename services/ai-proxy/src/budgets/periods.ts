import { DateTime } from 'luxon';

/** The calendar day and month a moment falls in, in a time zone, and when each ends. */
export interface CalendarPeriods {
  /** `yyyy-MM-dd`, local. */
  day: string;
  /** The next local midnight (ms): 23 or 25 hours after the last one across a DST change. */
  dayEndsMs: number;
  /** `yyyy-MM`, local. */
  month: string;
  /** Local midnight of the next month's first day (ms). */
  monthEndsMs: number;
}

/** The periods of `ms` in the IANA zone `zone` (luxon keeps local midnights across DST). */
export function periodsAt(ms: number, zone: string): CalendarPeriods {
  const local = DateTime.fromMillis(ms, { zone });
  return {
    day: local.toFormat('yyyy-LL-dd'),
    dayEndsMs: local.startOf('day').plus({ days: 1 }).toMillis(),
    month: local.toFormat('yyyy-LL'),
    monthEndsMs: local.startOf('month').plus({ months: 1 }).toMillis(),
  };
}
