import { beforeEach, describe, expect, it } from 'vitest';
import { type CountersStore, LATENCY_BUCKETS_S, quantileFromBuckets } from '../../../src/index';
import { HOUR, MINUTE, minuteOf } from './fixtures';

/** The request stats promises of every `CountersStore`; `current()` is the test's fresh store. */
export function describeRequestStatsContract(current: () => CountersStore): void {
  let store: CountersStore;

  beforeEach(() => {
    store = current();
  });

  describe('request stats', () => {
    it('sums the window across writers and gives Prometheus-style quantiles', async () => {
      const minute = minuteOf(Date.now());
      const buckets = (entries: Record<number, number>) => LATENCY_BUCKETS_S.map((_, i) => entries[i] ?? 0);
      // Two replicas in the current minute, one ten minutes ago, one a day and more ago.
      await store.addRequestStats({
        minuteMs: minute,
        requests: 60,
        status4xx: 3,
        status5xx: 2,
        rateLimited: 2,
        latencyBuckets: buckets({ 1: 50, 6: 10 }),
      });
      await store.addRequestStats({
        minuteMs: minute,
        requests: 40,
        status4xx: 1,
        status5xx: 0,
        rateLimited: 1,
        latencyBuckets: buckets({ 1: 30, 12: 10 }),
      });
      await store.addRequestStats({
        minuteMs: minute - 10 * MINUTE,
        requests: 100,
        status4xx: 0,
        status5xx: 50,
        rateLimited: 7,
        latencyBuckets: buckets({ 14: 100 }),
      });
      await store.addRequestStats({
        minuteMs: minute - 26 * HOUR,
        requests: 1000,
        status4xx: 0,
        status5xx: 0,
        latencyBuckets: buckets({ 0: 1000 }),
      });

      const five = await store.requestStats(300);
      expect(five).toMatchObject({ windowS: 300, requests: 100, status4xx: 4, status5xx: 2, rateLimited: 3 });
      expect(five.latencyBuckets).toEqual(buckets({ 1: 80, 6: 10, 12: 10 }));
      // 80 of 100 in (0.005, 0.01]: the median interpolates to 0.005 + 0.005 * 50/80.
      expect(quantileFromBuckets(five.latencyBuckets, 0.5)).toBeCloseTo(0.008125, 9);
      // The 95th is the 95th observation: 5 into the 10 of (5, 7.5].
      expect(quantileFromBuckets(five.latencyBuckets, 0.95)).toBeCloseTo(6.25, 9);

      const fifteen = await store.requestStats(900);
      expect(fifteen).toMatchObject({ requests: 200, status5xx: 52, rateLimited: 10 });
      // Half the observations are in +Inf: p99 is the largest finite bound.
      expect(quantileFromBuckets(fifteen.latencyBuckets, 0.99)).toBe(10);

      expect(await store.requestStats(60 * 30 * 60)).toMatchObject({ requests: 200 });
    });
  });
}
