/** One minute in ms: the granularity of every bucket the store keeps. */
export const MINUTE_MS = 60_000;

/** Cluster-wide minute buckets (usage timeseries, request stats) are kept this long. */
export const GLOBAL_BUCKET_RETENTION_MS = 25 * 60 * MINUTE_MS;

/** Per-user minute buckets (the user's last hour) are kept this long. */
export const USER_BUCKET_RETENTION_MS = 2 * 60 * MINUTE_MS;

/** `lastHour` sums this many minute buckets: the current (partial) one and the 59 before it. */
export const LAST_HOUR_MINUTES = 60;

/** Start of the minute `ms` falls in. */
export function minuteOf(ms: number): number {
  return ms - (ms % MINUTE_MS);
}
