import { DateTime } from 'luxon';

/** The digest a moment is due for: the local day it reviews and when it became due. */
export interface DueDigest {
  /** `yyyy-MM-dd` in the time zone: the day the digest reviews. */
  date: string;
  /** When it became due: `hour` o'clock local time on the next day. */
  dueAtMs: number;
}

/**
 * The most recent digest due at `nowMs`: the review of day D is due at `hour` o'clock local time
 * (`zone`, BUDGET_TIMEZONE) on day D + 1. Before that hour the latest due one is still the day
 * before yesterday's, so a replica that was down over the hour and comes back before the next one
 * still finds the digest it owes (late rather than never). Pure: no I/O, no clock of its own.
 *
 * Edge cases: on a daylight-saving day whose `hour` does not exist locally (02:00 in spring in
 * Europe/Berlin) it is due at the first moment after the gap; an hour that happens twice (autumn)
 * is due at its first occurrence.
 */
export function dueDigest(nowMs: number, hour: number, zone: string): DueDigest {
  const now = DateTime.fromMillis(nowMs, { zone });
  const dueToday = now.startOf('day').set({ hour });
  const reviewing = now >= dueToday ? now.minus({ days: 1 }) : now.minus({ days: 2 });
  const date = reviewing.toFormat('yyyy-LL-dd');
  const dueAt = DateTime.fromISO(date, { zone }).plus({ days: 1 }).set({ hour });
  return { date, dueAtMs: dueAt.toMillis() };
}
