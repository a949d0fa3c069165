import { assertCount } from '../limits/validate';
import { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS, minuteOf } from '../time';
import type { RequestStats, RequestStatsDelta } from '../types';
import { LATENCY_BUCKETS_S } from './latency';

/** Throws RangeError when a delta cannot be counted exactly. */
export function assertRequestStatsDelta(delta: RequestStatsDelta): void {
  assertCount(delta.minuteMs, 'minuteMs');
  assertCount(delta.requests, 'requests');
  assertCount(delta.status4xx, 'status4xx');
  assertCount(delta.status5xx, 'status5xx');
  if (delta.rateLimited !== undefined) assertCount(delta.rateLimited, 'rateLimited');
  delta.latencyBuckets.forEach((n, i) => {
    assertCount(n, `latencyBuckets[${i}]`);
  });
}

/**
 * How many minute buckets a `requestStats(windowS)` call sums: the current (partial) minute and
 * the ones before it, `ceil(windowS / 60)` in all, capped at the retention. RangeError when `windowS`
 * is not a positive number.
 */
export function requestStatsMinutes(windowS: number): number {
  if (!(windowS > 0) || !Number.isFinite(windowS)) throw new RangeError(`windowS must be positive, got ${windowS}`);
  return Math.min(Math.ceil((windowS * 1000) / MINUTE_MS), GLOBAL_BUCKET_RETENTION_MS / MINUTE_MS);
}

/** The minute a delta is counted in (its `minuteMs`, floored to the minute). */
export function deltaMinute(delta: RequestStatsDelta): number {
  return minuteOf(delta.minuteMs);
}

/** Zeroed stats for a window, one latency count per `LATENCY_BUCKETS_S` entry. */
export function emptyRequestStats(windowS: number): RequestStats {
  return {
    windowS,
    requests: 0,
    status4xx: 0,
    status5xx: 0,
    rateLimited: 0,
    latencyBuckets: LATENCY_BUCKETS_S.map(() => 0),
  };
}

/** Adds `delta`'s counts into `into` (mutates and returns it); latency arrays grow as needed. */
export function addRequestStatsInto<Counts extends Omit<RequestStats, 'windowS'>>(
  into: Counts,
  delta: Omit<RequestStatsDelta, 'minuteMs'>,
): Counts {
  into.requests += delta.requests;
  into.status4xx += delta.status4xx;
  into.status5xx += delta.status5xx;
  into.rateLimited += delta.rateLimited ?? 0;
  delta.latencyBuckets.forEach((n, i) => {
    into.latencyBuckets[i] = (into.latencyBuckets[i] ?? 0) + n;
  });
  return into;
}
