import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EmbeddedSpendStore,
  RedisSpendStore,
  type SpendBudget,
  type SpendHold,
  type SpendStore,
} from '../../src/index';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../helpers/redis';

const DAY = 86_400_000;
let n = 0;

function budgets(limits: { daily?: number; monthly?: number; deployment?: number }, user = 'alice'): SpendBudget[] {
  const expiresAtMs = Date.now() + DAY;
  return [
    {
      key: `u:${user}:d:2026-12-01`,
      limitTicks: limits.daily ?? 0,
      override: { userId: user, period: 'daily' },
      expiresAtMs,
    },
    {
      key: `u:${user}:m:2026-12`,
      limitTicks: limits.monthly ?? 0,
      override: { userId: user, period: 'monthly' },
      expiresAtMs,
    },
    { key: 'all:m:2026-12', limitTicks: limits.deployment ?? 0, expiresAtMs },
  ];
}

function hold(ticks: number, list: SpendBudget[], holdMs = 60_000): SpendHold {
  n += 1;
  return { id: `hold-${n}-${Math.random()}`, ticks, holdMs, budgets: list };
}

function contract(name: string, make: () => Promise<{ spend: SpendStore; dispose: () => Promise<void> }>) {
  describe(`spend budgets: ${name}`, () => {
    let spend: SpendStore;
    let dispose: () => Promise<void> = async () => {};
    beforeEach(async () => {
      await dispose();
      ({ spend, dispose } = await make());
    });
    afterAll(() => dispose());

    it('holds what fits every budget, refuses what does not, and names the budget', async () => {
      const list = budgets({ daily: 1000, monthly: 5000, deployment: 1_000_000 });
      expect((await spend.hold(hold(600, list))).allowed).toBe(true);
      const refused = await spend.hold(hold(500, list));
      expect(refused).toMatchObject({ allowed: false, refused: 0 });
      expect(refused.budgets[0]).toEqual({ limitTicks: 1000, usedTicks: 600 });
      expect(await spend.usage(list.map((b) => b.key))).toEqual([
        { spentTicks: 0, heldTicks: 600 },
        { spentTicks: 0, heldTicks: 600 },
        { spentTicks: 0, heldTicks: 600 },
      ]);
    });

    it('settles a hold to the real cost, so what the worst case held frees up', async () => {
      const list = budgets({ daily: 1000 });
      const first = hold(900, list);
      expect((await spend.hold(first)).allowed).toBe(true);
      expect((await spend.hold(hold(200, list))).allowed).toBe(false);
      await spend.settle(first, 150);
      expect((await spend.usage([list[0]?.key ?? '']))[0]).toEqual({ spentTicks: 150, heldTicks: 0 });
      expect((await spend.hold(hold(800, list))).allowed).toBe(true);
      expect((await spend.hold(hold(51, list))).allowed).toBe(false);
    });

    it('tracks budgets without a limit, and applies a user override over the default', async () => {
      const list = budgets({});
      expect((await spend.hold(hold(10_000, list))).allowed).toBe(true);
      expect(await spend.hasOverrides()).toBe(false);
      await spend.setOverride('alice', { dailyTicks: 12_000 });
      expect(await spend.override('alice')).toEqual({ dailyTicks: 12_000 });
      expect(await spend.hasOverrides()).toBe(true);
      const refused = await spend.hold(hold(2_001, list));
      expect(refused).toMatchObject({ allowed: false, refused: 0 });
      expect(refused.budgets[0]?.limitTicks).toBe(12_000);
      // another user keeps the default (none)
      expect((await spend.hold(hold(50_000, budgets({}, 'bob')))).allowed).toBe(true);
      await spend.setOverride('alice', {});
      expect(await spend.override('alice')).toEqual({});
      expect((await spend.hold(hold(2_001, list))).allowed).toBe(true);
    });

    it('counts a hold that lapsed unsettled at its worst case, and corrects it when it settles late', async () => {
      const list = budgets({ daily: 1000 });
      const orphan = hold(700, list, 30);
      expect((await spend.hold(orphan)).allowed).toBe(true);
      await sleep(80);
      // the next hold sweeps it: spent at 700
      expect((await spend.hold(hold(400, list))).allowed).toBe(false);
      expect((await spend.usage([list[0]?.key ?? '']))[0]).toEqual({ spentTicks: 700, heldTicks: 0 });
      await spend.settle(orphan, 100);
      expect((await spend.usage([list[0]?.key ?? '']))[0]).toEqual({ spentTicks: 100, heldTicks: 0 });
    });

    it('answers a settle with the budgets after it, and keeps lists of users near their budgets', async () => {
      const list = budgets({ daily: 1000 });
      const first = hold(500, list);
      await spend.hold(first);
      expect(await spend.settle(first, 420)).toEqual([
        { spentTicks: 420, heldTicks: 0 },
        { spentTicks: 420, heldTicks: 0 },
        { spentTicks: 420, heldTicks: 0 },
      ]);
      const expires = Date.now() + DAY;
      await spend.markNear('d:2026-12-01', 'alice', 0.85, expires);
      await spend.markNear('d:2026-12-01', 'alice', 0.81, expires);
      await spend.markNear('d:2026-12-01', 'bob', 0.95, expires);
      await spend.markNear('d:2026-12-01', 'carol', 0.5, expires);
      expect(await spend.nearUsers('d:2026-12-01', 0.8, 10)).toEqual([
        { userId: 'bob', ratio: 0.95 },
        { userId: 'alice', ratio: 0.85 },
      ]);
      expect(await spend.nearUsers('d:2026-12-02', 0.8, 10)).toEqual([]);
      await spend.clearNear('d:2026-12-01', 'bob');
      expect((await spend.nearUsers('d:2026-12-01', 0.8, 10)).map((u) => u.userId)).toEqual(['alice']);
      await spend.countRefusal('d:2026-12-01', 'user_daily_usd');
      await spend.countRefusal('d:2026-12-01', 'user_daily_usd');
      await spend.countRefusal('d:2026-12-01', 'monthly_usd');
      expect(await spend.refusals('d:2026-12-01')).toEqual({ user_daily_usd: 2, monthly_usd: 1 });
      expect(await spend.refusals('d:2026-11-30')).toEqual({});
    });

    it('never lets concurrent holds exceed a budget', async () => {
      const list = budgets({ deployment: 10_000 });
      const decisions = await Promise.all(Array.from({ length: 50 }, () => spend.hold(hold(333, list))));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
      expect((await spend.usage(['all:m:2026-12']))[0]?.heldTicks).toBe(30 * 333);
    });
  });
}

contract('embedded', async () => ({ spend: new EmbeddedSpendStore(), dispose: async () => {} }));

contract('redis', async () => {
  const prefix = uniquePrefix();
  const client = new Redis(REDIS_URL, { lazyConnect: false });
  return {
    spend: new RedisSpendStore(client, prefix),
    dispose: async () => {
      client.disconnect();
      await deleteKeys(REDIS_URL, prefix);
    },
  };
});

describe('redis spend keys', () => {
  it('expire after their period, so a new period starts from nothing without a reset job', async () => {
    const prefix = uniquePrefix();
    const client = new Redis(REDIS_URL);
    try {
      const spend = new RedisSpendStore(client, prefix);
      const list: SpendBudget[] = [{ key: 'u:x:d:2026-11-30', limitTicks: 100, expiresAtMs: Date.now() + 50 }];
      expect((await spend.hold(hold(100, list))).allowed).toBe(true);
      expect((await spend.hold(hold(1, list))).allowed).toBe(false);
      const ttl = await client.pttl(`${prefix}{spend}:b:u:x:d:2026-11-30`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(50);
    } finally {
      client.disconnect();
      await deleteKeys(REDIS_URL, prefix);
    }
  });
});
