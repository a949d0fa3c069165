import { addRequestStatsInto, deltaMinute, emptyRequestStats, requestStatsMinutes } from '../stats/request-stats';
import { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS, minuteOf } from '../time';
import type { RequestStats, RequestStatsDelta } from '../types';

/** One minute of gateway request stats. */
export type RequestBucket = Omit<RequestStats, 'windowS'>;

/** Request stats by minute start (ms). */
export type RequestMinutes = Map<number, RequestBucket>;

/** Adds a (checked) delta into its minute; a minute already past the bucket retention at `now` is ignored. */
export function addRequestDelta(minutes: RequestMinutes, delta: RequestStatsDelta, now: number): void {
  const minute = deltaMinute(delta);
  if (minute + GLOBAL_BUCKET_RETENTION_MS <= now) return;
  let bucket = minutes.get(minute);
  if (!bucket) {
    bucket = { requests: 0, status4xx: 0, status5xx: 0, rateLimited: 0, latencyBuckets: [] };
    minutes.set(minute, bucket);
  }
  addRequestStatsInto(bucket, delta);
}

/** The stats of the last `windowS` seconds at `now`, in whole minutes (see `requestStatsMinutes`). */
export function sumRequestStats(minutes: RequestMinutes, windowS: number, now: number): RequestStats {
  const count = requestStatsMinutes(windowS);
  const stats = emptyRequestStats(windowS);
  const current = minuteOf(now);
  for (let i = 0; i < count; i++) {
    const bucket = minutes.get(current - i * MINUTE_MS);
    if (bucket) addRequestStatsInto(stats, bucket);
  }
  return stats;
}
