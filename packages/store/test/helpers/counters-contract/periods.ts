import { beforeEach, describe, expect, it } from 'vitest';
import { type CountersStore, emptyCounters, type UsageRecord } from '../../../src/index';

/** The report period promises of every `CountersStore`; `current()` is the test's fresh store. */
export function describePeriodsContract(current: () => CountersStore): void {
  let store: CountersStore;

  beforeEach(() => {
    store = current();
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
}
