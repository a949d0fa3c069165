import { describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/index';
import { describeCountersStore } from '../helpers/contract';

describeCountersStore('embedded', async () => {
  const store = new EmbeddedStore();
  return { store, dispose: () => store.close() };
});

/** A clock the test moves by hand. */
function fakeClock(start = Date.UTC(2025, 9, 21, 12, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

/** White-box view of the entry maps, to check the bounded-memory promise. */
function sizes(store: EmbeddedStore) {
  const internals = store as unknown as Record<string, Map<unknown, unknown>>;
  return {
    hitLogs: internals.hitLogs?.size,
    budgets: internals.budgets?.size,
    minutes: internals.minutes?.size,
    userMinutes: internals.userMinutes?.size,
    requestMinutes: internals.requestMinutes?.size,
  };
}

describe('embedded store with a fake clock', () => {
  it('gives exact retry-after values from the hit log', async () => {
    const clock = fakeClock();
    const store = new EmbeddedStore({ now: clock.now, pruneIntervalMs: 0 });
    const windows = [{ name: 'ai_per_minute', limit: 2, windowMs: 60_000 }];
    await store.hit('u', windows);
    clock.advance(10_000);
    await store.hit('u', windows);
    clock.advance(20_000);
    expect(await store.hit('u', windows)).toMatchObject({ allowed: false, retryAfterMs: 30_000, resetMs: 30_000 });
    clock.advance(29_999);
    expect((await store.hit('u', windows)).allowed).toBe(false);
    clock.advance(1);
    expect(await store.hit('u', windows)).toMatchObject({ allowed: true, remaining: 0, resetMs: 10_000 });
    await store.close();
  });

  it('moves usage out of the last hour after 60 minutes and out of the timeseries after 25 hours', async () => {
    const clock = fakeClock();
    const store = new EmbeddedStore({ now: clock.now, pruneIntervalMs: 0 });
    await store.recordUsage({
      userId: 'u',
      model: 'm',
      operation: 'chat',
      promptTokens: 5,
      completionTokens: 5,
      costTicks: 1,
    });
    expect(await store.lastHourTokens()).toBe(10);
    clock.advance(59 * 60_000);
    expect(await store.lastHourTokens()).toBe(10);
    clock.advance(60_000);
    expect(await store.lastHourTokens()).toBe(0);
    expect((await store.usage()).totals.totalTokens).toBe(10);
    const day = await store.timeseries(25 * 60 * 60_000, 60 * 60_000);
    expect(day.reduce((sum, p) => sum + p.counters.totalTokens, 0)).toBe(10);
    clock.advance(25 * 60 * 60_000);
    const later = await store.timeseries(25 * 60 * 60_000, 60 * 60_000);
    expect(later.reduce((sum, p) => sum + p.counters.totalTokens, 0)).toBe(0);
    await store.close();
  });

  it('prunes expired hits, reservations and buckets so memory stays bounded', async () => {
    const clock = fakeClock();
    const store = new EmbeddedStore({ now: clock.now, pruneIntervalMs: 0 });
    for (let i = 0; i < 100; i++) {
      await store.hit(`user-${i}`, [{ name: 'ai_per_minute', limit: 5, windowMs: 60_000 }]);
      await store.reserveBudget(`user-${i}`, 'r', 10, 100, 60_000);
      await store.recordUsage({
        userId: `user-${i}`,
        model: 'm',
        operation: 'chat',
        promptTokens: 1,
        completionTokens: 1,
        costTicks: 1,
      });
      await store.addRequestStats({
        minuteMs: clock.now(),
        requests: 1,
        status4xx: 0,
        status5xx: 0,
        latencyBuckets: [1],
      });
      clock.advance(1000);
    }
    expect(sizes(store)).toMatchObject({ hitLogs: 100, budgets: 100, userMinutes: 100 });

    clock.advance(2 * 60 * 60_000);
    store.prune();
    expect(sizes(store)).toMatchObject({ hitLogs: 0, budgets: 0, userMinutes: 0 });
    expect(sizes(store).minutes).toBeGreaterThan(0);

    clock.advance(24 * 60 * 60_000);
    store.prune();
    expect(sizes(store)).toMatchObject({ minutes: 0, requestMinutes: 0 });
    // Totals are not windowed: they stay.
    expect((await store.usage()).totals.requests).toBe(100);
    await store.close();
  });
});
