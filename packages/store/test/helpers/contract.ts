import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CountersStore,
  emptyCounters,
  emptyPricingCheck,
  LATENCY_BUCKETS_S,
  quantileFromBuckets,
  type UsageCounters,
  type UsageRecord,
  type WindowLimit,
} from '../../src/index';

/** A fresh, empty store and how to dispose of it (close it, delete its keys). */
export interface StoreFixture {
  store: CountersStore;
  dispose: () => Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function minuteOf(ms: number): number {
  return ms - (ms % MINUTE);
}

function add(into: UsageCounters, record: UsageRecord): void {
  into.promptTokens += record.promptTokens;
  into.completionTokens += record.completionTokens;
  into.totalTokens += record.promptTokens + record.completionTokens;
  into.reasoningTokens += record.reasoningTokens ?? 0;
  into.cachedPromptTokens += record.cachedPromptTokens ?? 0;
  into.requests += 1;
  into.errors += record.error ? 1 : 0;
  into.costTicks += record.costTicks;
}

function sumPoints(points: { counters: UsageCounters }[]): UsageCounters {
  const sum = emptyCounters();
  for (const { counters } of points) {
    for (const field of Object.keys(sum) as (keyof UsageCounters)[]) sum[field] += counters[field];
  }
  return sum;
}

function record(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    userId: 'u1',
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 10,
    completionTokens: 20,
    costTicks: 30,
    ...overrides,
  };
}

/**
 * The behaviour every `CountersStore` promises (types.ts, CONTRACT.md section 7), run against each
 * implementation with its own factory.
 */
export function describeCountersStore(name: string, create: () => Promise<StoreFixture>): void {
  describe(`${name} counters store`, () => {
    let fixture: StoreFixture;
    let store: CountersStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    describe('rate limits', () => {
      it('admits at most N of 200 concurrent hits in one rolling window', async () => {
        const windows: WindowLimit[] = [{ name: 'ai_per_minute', limit: 7, windowMs: MINUTE }];
        const decisions = await Promise.all(Array.from({ length: 200 }, () => store.hit('alice', windows)));
        const admitted = decisions.filter((d) => d.allowed);
        expect(admitted).toHaveLength(7);
        expect(new Set(admitted.map((d) => d.remaining))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
        for (const refused of decisions.filter((d) => !d.allowed)) {
          expect(refused.limitName).toBe('ai_per_minute');
          expect(refused.remaining).toBe(0);
          expect(refused.retryAfterMs).toBeGreaterThan(0);
          expect(refused.retryAfterMs).toBeLessThanOrEqual(MINUTE);
        }
        // Still full afterwards: nothing refused was recorded, nothing admitted was lost.
        expect((await store.hit('alice', windows)).allowed).toBe(false);
      });

      it('keeps each key to its own windows', async () => {
        const windows: WindowLimit[] = [{ name: 'ai_per_minute', limit: 1, windowMs: MINUTE }];
        expect((await store.hit('alice', windows)).allowed).toBe(true);
        expect((await store.hit('alice', windows)).allowed).toBe(false);
        expect((await store.hit('bob', windows)).allowed).toBe(true);
      });

      it('checks minute and hour windows together, and a refused hit consumes neither', async () => {
        const windows: WindowLimit[] = [
          { name: 'ai_per_minute', limit: 2, windowMs: 300 },
          { name: 'ai_per_hour', limit: 3, windowMs: HOUR },
        ];
        expect((await store.hit('carol', windows)).allowed).toBe(true);
        expect((await store.hit('carol', windows)).allowed).toBe(true);
        const byMinute = await store.hit('carol', windows);
        expect(byMinute).toMatchObject({ allowed: false, limitName: 'ai_per_minute', limit: 2 });
        expect(byMinute.retryAfterMs).toBeLessThanOrEqual(300);

        // The refused hit was not recorded in the hour window: one more fits once the minute rolls.
        await sleep(byMinute.retryAfterMs + 30);
        const third = await store.hit('carol', windows);
        expect(third).toMatchObject({ allowed: true, limit: 3, remaining: 0 });

        await sleep(330);
        const byHour = await store.hit('carol', windows);
        expect(byHour).toMatchObject({ allowed: false, limitName: 'ai_per_hour', limit: 3, remaining: 0 });
        expect(byHour.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
        expect(byHour.retryAfterMs).toBeLessThanOrEqual(HOUR);
      });

      it('reports the tightest window, remaining, reset and retry-after', async () => {
        const windows: WindowLimit[] = [
          { name: 'ai_per_minute', limit: 5, windowMs: MINUTE },
          { name: 'ai_per_hour', limit: 3, windowMs: HOUR },
        ];
        const first = await store.hit('dave', windows);
        expect(first).toMatchObject({ allowed: true, limit: 3, remaining: 2, resetMs: 0, retryAfterMs: 0 });
        expect((await store.hit('dave', windows)).remaining).toBe(1);
        const last = await store.hit('dave', windows);
        expect(last).toMatchObject({ allowed: true, limit: 3, remaining: 0, retryAfterMs: 0 });
        // Full now: a slot frees when the first hit leaves the hour.
        expect(last.resetMs).toBeGreaterThan(HOUR - 10_000);
        expect(last.resetMs).toBeLessThanOrEqual(HOUR);
        const refused = await store.hit('dave', windows);
        expect(refused).toMatchObject({ allowed: false, limitName: 'ai_per_hour', limit: 3, remaining: 0 });
        expect(refused.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(last.resetMs);
        expect(refused.resetMs).toBe(refused.retryAfterMs);
      });

      it('rolls: a hit older than the window no longer counts', async () => {
        const windows: WindowLimit[] = [{ name: 'general_per_minute', limit: 2, windowMs: 300 }];
        expect((await store.hit('erin', windows)).allowed).toBe(true);
        await sleep(120);
        expect((await store.hit('erin', windows)).allowed).toBe(true);
        const refused = await store.hit('erin', windows);
        expect(refused.allowed).toBe(false);
        // The first hit leaves first: about 180 ms from now, not the full 300.
        expect(refused.retryAfterMs).toBeGreaterThan(100);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(200);
        await sleep(refused.retryAfterMs + 30);
        const again = await store.hit('erin', windows);
        expect(again).toMatchObject({ allowed: true, remaining: 0 });
        expect((await store.hit('erin', windows)).allowed).toBe(false);
      });

      it('skips windows whose limit is 0', async () => {
        const off: WindowLimit[] = [{ name: 'ai_per_minute', limit: 0, windowMs: MINUTE }];
        for (let i = 0; i < 20; i++) expect((await store.hit('frank', off)).allowed).toBe(true);
        const mixed: WindowLimit[] = [...off, { name: 'ai_per_hour', limit: 1, windowMs: HOUR }];
        expect((await store.hit('frank', mixed)).allowed).toBe(true);
        expect(await store.hit('frank', mixed)).toMatchObject({ allowed: false, limitName: 'ai_per_hour' });
      });
    });

    describe('token budgets', () => {
      it('never overshoots the budget under 60 concurrent reservations', async () => {
        const decisions = await Promise.all(
          Array.from({ length: 60 }, (_, i) => store.reserveBudget('gina', `r${i}`, 150, 1000, HOUR)),
        );
        const admitted = decisions.filter((d) => d.allowed);
        expect(admitted).toHaveLength(6);
        expect(Math.max(...admitted.map((d) => d.used))).toBe(900);
        for (const refused of decisions.filter((d) => !d.allowed)) {
          expect(refused.used).toBe(900);
          expect(refused.budget).toBe(1000);
          expect(refused.retryAfterMs).toBeGreaterThan(HOUR - 10_000);
          expect(refused.retryAfterMs).toBeLessThanOrEqual(HOUR);
        }
      });

      it('settles a reservation to the real usage and releases it with 0', async () => {
        expect(await store.reserveBudget('hank', 'a', 600, 1000, HOUR)).toMatchObject({ allowed: true, used: 600 });
        expect(await store.reserveBudget('hank', 'b', 600, 1000, HOUR)).toMatchObject({ allowed: false, used: 600 });
        await store.settleBudget('hank', 'a', 200, HOUR);
        expect(await store.reserveBudget('hank', 'b', 600, 1000, HOUR)).toMatchObject({ allowed: true, used: 800 });
        await store.settleBudget('hank', 'b', 0, HOUR);
        await store.settleBudget('hank', 'unknown', 5000, HOUR);
        expect(await store.reserveBudget('hank', 'c', 800, 1000, HOUR)).toMatchObject({ allowed: true, used: 1000 });
        expect(await store.reserveBudget('hank', 'd', 1, 1000, HOUR)).toMatchObject({ allowed: false, used: 1000 });
      });

      it('frees reservations once they leave the window', async () => {
        expect((await store.reserveBudget('ivy', 'a', 400, 1000, 300)).allowed).toBe(true);
        await sleep(100);
        expect((await store.reserveBudget('ivy', 'b', 600, 1000, 300)).allowed).toBe(true);
        const refused = await store.reserveBudget('ivy', 'c', 300, 1000, 300);
        expect(refused).toMatchObject({ allowed: false, used: 1000 });
        // Reservation `a` (400) is enough to make room: it leaves ~200 ms from now (the clocks read
        // whole milliseconds, and a timer may fire on the millisecond before its delay is up).
        expect(refused.retryAfterMs).toBeGreaterThan(100);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(202);
        await sleep(refused.retryAfterMs + 30);
        expect(await store.reserveBudget('ivy', 'c', 300, 1000, 300)).toMatchObject({ allowed: true, used: 900 });
      });

      it('refuses a reservation larger than the whole budget, and budget 0 is off', async () => {
        expect(await store.reserveBudget('jack', 'huge', 1001, 1000, HOUR)).toMatchObject({
          allowed: false,
          used: 0,
          retryAfterMs: HOUR,
        });
        expect(await store.reserveBudget('jack', 'free', 1_000_000, 0, HOUR)).toMatchObject({ allowed: true });
      });
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
          Array.from({ length: 1000 }, (_, i) =>
            store.recordUsage(record({ userId: `p${i % 7}`, costTicks: 150_000 })),
          ),
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

    describe('report periods', () => {
      const periods = { hour: 'h2026-12-01T09', day: 'd2026-12-01', month: 'm2026-12' };
      const spend = (userId: string, costTicks: number, tokens: number, overrides: Partial<UsageRecord> = {}) =>
        store.recordUsage({
          userId,
          model: 'grok-4-fast',
          operation: 'chat',
          promptTokens: tokens,
          completionTokens: 0,
          costTicks,
          periods,
          ...overrides,
        });

      it("ranks a period's users by cost or tokens, with each user's counters in the period", async () => {
        await Promise.all([
          spend('small', 10, 900),
          spend('big', 500, 100),
          spend('big', 500, 100),
          spend('mid', 300, 50, { billed: { billedTicks: 300, pricedTicks: 290 } }),
          // another day and month: in neither ranking of these periods
          spend('big', 9_999, 9_999, { periods: { hour: 'h2026-11-30T09', day: 'd2026-11-30', month: 'm2026-11' } }),
          // no periods: not in the reports, still in the totals
          spend('ghost', 1_000_000, 1, { periods: undefined }),
        ]);
        const byCost = await store.periodUsers(periods.day, 'cost', 2);
        expect(byCost.map((u) => [u.userId, u.counters.costTicks, u.counters.requests])).toEqual([
          ['big', 1000, 2],
          ['mid', 300, 1],
        ]);
        const byTokens = await store.periodUsers(periods.month, 'tokens', 10);
        expect(byTokens.map((u) => u.userId)).toEqual(['small', 'big', 'mid']);
        expect(await store.periodUser(periods.hour, 'big')).toMatchObject({ costTicks: 1000, totalTokens: 200 });
        expect(await store.periodUser(periods.hour, 'ghost')).toEqual(emptyCounters());
        const summary = await store.periodSummary(periods.day);
        expect(summary.activeUsers).toBe(3);
        expect(summary.counters).toMatchObject({ costTicks: 1310, requests: 4, totalTokens: 1150 });
        expect(summary.byOperation.chat?.costTicks).toBe(1310);
        expect(summary.byModel['grok-4-fast']?.requests).toBe(4);
        expect(summary.pricingCheck).toEqual({ calls: 1, billedTicks: 300, pricedTicks: 290 });
        expect((await store.usage()).totals.requests).toBe(6);
        await expect(store.periodUsers('2026-12-01', 'cost', 5)).rejects.toThrow(RangeError);
        await expect(spend('x', 1, 1, { periods: { ...periods, day: 'd2026-12' } })).rejects.toThrow(RangeError);
      });

      it('pages through every user of a period exactly once, users with only failed calls too', async () => {
        const users = Array.from({ length: 250 }, (_, i) => `user-${i}`);
        await Promise.all(users.map((u, i) => spend(u, i, i % 3, i % 50 === 0 ? { error: true } : {})));
        const seen: string[] = [];
        let cursor = '0';
        do {
          const page = await store.scanPeriodUsers(periods.month, cursor, 40);
          for (const user of page.users) seen.push(user.userId);
          cursor = page.cursor;
        } while (cursor !== '0');
        expect(seen.sort()).toEqual([...users].sort());
        expect((await store.periodSummary(periods.month)).activeUsers).toBe(250);
      });
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
  });
}
