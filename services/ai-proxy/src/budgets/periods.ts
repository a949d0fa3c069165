import type { UsagePeriods } from '@flashcase/store';
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

/**
 * The report period labels (`UsagePeriods`) of a moment in `zone`: hour, day and month. Cached for
 * the current minute (time zone offsets change on whole minutes), so a call pays for one compare.
 */
export class ReportPeriods {
  private minute = Number.NaN;
  private labels: UsagePeriods | undefined;

  constructor(
    private readonly zone: string,
    private readonly now: () => number = Date.now,
  ) {}

  current(): UsagePeriods {
    const now = this.now();
    const minute = now - (now % 60_000);
    if (minute !== this.minute || this.labels === undefined) {
      const local = DateTime.fromMillis(now, { zone: this.zone });
      this.labels = {
        hour: `h${local.toFormat("yyyy-LL-dd'T'HH")}`,
        day: `d${local.toFormat('yyyy-LL-dd')}`,
        month: `m${local.toFormat('yyyy-LL')}`,
      };
      this.minute = minute;
    }
    return this.labels;
  }
}

export type PeriodKind = 'hour' | 'day' | 'month';

/** The report period of kind `kind` that `ms` falls in, in `zone`: its label and bounds (ms). */
export function reportPeriod(
  kind: PeriodKind,
  ms: number,
  zone: string,
): { label: string; startMs: number; endMs: number } {
  const local = DateTime.fromMillis(ms, { zone });
  const start = local.startOf(kind);
  const format = kind === 'hour' ? "'h'yyyy-LL-dd'T'HH" : kind === 'day' ? "'d'yyyy-LL-dd" : "'m'yyyy-LL";
  return {
    label: local.toFormat(format),
    startMs: start.toMillis(),
    endMs: start.plus({ [`${kind}s`]: 1 }).toMillis(),
  };
}
