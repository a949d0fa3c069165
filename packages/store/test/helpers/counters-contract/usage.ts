import { beforeEach, describe, expect, it } from 'vitest';
import { type CountersStore, emptyCounters, emptyPricingCheck, type UsageCounters } from '../../../src/index';
import { add, HOUR, MINUTE, minuteOf, record, sumPoints } from './fixtures';

/** The usage counter promises of every `CountersStore`; `current()` is the test's fresh store. */
export function describeUsageContract(current: () => CountersStore): void {
  let store: CountersStore;

  beforeEach(() => {
    store = current();
  });

  describe('usage counters', () => {
    it('counts 500 concurrent records exactly, in totals and by model, operation and user', async () => {
      const models = ['grok-4-fast', 'grok-4', 'vendor:model/with:colons'];
      const operations = ['chat', 'rewrite', 'autocomplete'];
      const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
      const records = Array.from({ length: 500 }, (_, i) =>
        record({
          userId: users[i % users.length] as string,
          model: models[i % models.length] as string,
          operation: operations[(i >> 1) % operations.length] as string,
          promptTokens: 1 + ((i * 7919) % 1000),
          completionTokens: 50 + ((i * 104_729) % 2000),
          reasoningTokens: i % 3 === 0 ? 0 : 1 + ((i * 31) % 50),
          cachedPromptTokens: i % 4 === 0 ? (i * 13) % 2 : 0,
          // Up to 2e10 ticks ($2) a call: the sum passes 2^32 and is still exact.
          costTicks: 1 + ((i * 15_485_863) % 20_000_000_000),
          error: i % 13 === 0,
        }),
      );
      await Promise.all(records.map((r) => store.recordUsage(r)));

      const totals = emptyCounters();
      const byModel = new Map<string, UsageCounters>();
      const byOperation = new Map<string, UsageCounters>();
      const byUser = new Map<string, UsageCounters>();
      for (const r of records) {
        add(totals, r);
        for (const [map, key] of [
          [byModel, r.model],
          [byOperation, r.operation],
          [byUser, r.userId],
        ] as const) {
          if (!map.has(key)) map.set(key, emptyCounters());
          add(map.get(key) as UsageCounters, r);
        }
      }

      const usage = await store.usage();
      expect(usage.totals).toEqual(totals);
      expect(usage.totals.requests).toBe(500);
      expect(usage.lastHour).toEqual(totals);
      expect(usage.byModel).toEqual(Object.fromEntries(byModel));
      expect(usage.byOperation).toEqual(Object.fromEntries(byOperation));
      expect(usage.since).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(Math.abs(Date.parse(usage.since as string) - Date.now())).toBeLessThan(MINUTE);
      expect(await store.lastHourTokens()).toBe(totals.totalTokens);

      for (const [userId, expected] of byUser) {
        const mine = await store.userUsage(userId);
        expect(mine.totals).toEqual(expected);
        expect(mine.lastHour).toEqual(expected);
      }
      expect(await store.userUsage('nobody')).toEqual({
        totals: emptyCounters(),
        lastHour: emptyCounters(),
        byModel: {},
        byOperation: {},
        pricingCheck: emptyPricingCheck(),
        pricingCheckLast24h: emptyPricingCheck(),
      });
    });

    it('sums 1000 calls of $0.000015 to exactly $0.015, in ticks', async () => {
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) => store.recordUsage(record({ userId: `p${i % 7}`, costTicks: 150_000 }))),
      );
      const usage = await store.usage();
      expect(usage.totals.costTicks).toBe(150_000_000);
      expect(usage.totals.costTicks / 1e10).toBe(0.015);
      expect(usage.lastHour.costTicks).toBe(150_000_000);
      expect(usage.byModel['grok-4-fast']?.costTicks).toBe(150_000_000);
    });

    it('keeps the pricing check of billed calls, over all time and the last 24 hours', async () => {
      const now = Date.now();
      await store.recordUsage(record({ costTicks: 1000, billed: { billedTicks: 1000, pricedTicks: 990 } }));
      await store.recordUsage(record({ costTicks: 500, billed: { billedTicks: 500, pricedTicks: 520 } }));
      await store.recordUsage(record({ costTicks: 70 })); // priced, not billed
      await store.recordUsage(
        record({ costTicks: 9, billed: { billedTicks: 9, pricedTicks: 9 }, timestampMs: now - 30 * HOUR }),
      );
      const usage = await store.usage();
      expect(usage.pricingCheck).toEqual({ calls: 3, billedTicks: 1509, pricedTicks: 1519 });
      expect(usage.pricingCheckLast24h).toEqual({ calls: 2, billedTicks: 1500, pricedTicks: 1510 });
      expect(usage.totals.costTicks).toBe(1579);
      expect((await store.userUsage('u1')).pricingCheck).toEqual(emptyPricingCheck());
    });

    it('counts usage older than an hour in the totals only, and places it in the timeseries', async () => {
      const now = Date.now();
      const old = record({ promptTokens: 1000, completionTokens: 0, costTicks: 5, timestampMs: now - 90 * MINUTE });
      const recent = record({
        promptTokens: 100,
        completionTokens: 10,
        costTicks: 7,
        timestampMs: now - 5 * MINUTE,
      });
      const current = record({ promptTokens: 1, completionTokens: 2, costTicks: 3, error: true });
      for (const r of [old, recent, current]) await store.recordUsage(r);

      const usage = await store.usage();
      expect(usage.totals.totalTokens).toBe(1113);
      expect(usage.lastHour).toMatchObject({ totalTokens: 113, requests: 2, errors: 1, costTicks: 10 });
      expect(await store.lastHourTokens()).toBe(113);
      expect((await store.userUsage('u1')).lastHour.totalTokens).toBe(113);

      const perMinute = await store.timeseries(2 * HOUR, MINUTE);
      expect(perMinute).toHaveLength(120);
      perMinute.forEach((point, i) => {
        if (i > 0) expect(point.startMs - (perMinute[i - 1]?.startMs ?? 0)).toBe(MINUTE);
      });
      expect(sumPoints(perMinute)).toMatchObject({ totalTokens: 1113, requests: 3, errors: 1, costTicks: 15 });
      const oldPoint = perMinute.find((p) => p.startMs === minuteOf(old.timestampMs as number));
      expect(oldPoint?.counters).toMatchObject({ promptTokens: 1000, requests: 1 });

      const coarse = await store.timeseries(30 * MINUTE, 10 * MINUTE);
      expect(coarse).toHaveLength(3);
      expect(coarse.map((p) => p.startMs % (10 * MINUTE))).toEqual([0, 0, 0]);
      expect(sumPoints(coarse)).toMatchObject({ totalTokens: 113, requests: 2 });
    });

    it('rounds timeseries steps up to whole minutes and rejects a non-positive window', async () => {
      await store.recordUsage(record());
      const points = await store.timeseries(5 * MINUTE, 30_000);
      expect(points).toHaveLength(5);
      expect((points[1]?.startMs ?? 0) - (points[0]?.startMs ?? 0)).toBe(MINUTE);
      expect(points.at(-1)?.counters.totalTokens).toBe(30);
      await expect(store.timeseries(0, MINUTE)).rejects.toThrow(RangeError);
    });

    it('rejects records that cannot be counted exactly', async () => {
      await expect(store.recordUsage(record({ costTicks: 0.5 }))).rejects.toThrow(RangeError);
      await expect(store.recordUsage(record({ promptTokens: -1 }))).rejects.toThrow(RangeError);
      await expect(store.recordUsage(record({ reasoningTokens: 21 }))).rejects.toThrow(RangeError);
      await expect(store.recordUsage(record({ cachedPromptTokens: 11 }))).rejects.toThrow(RangeError);
      expect((await store.usage()).totals.requests).toBe(0);
    });
  });
}
