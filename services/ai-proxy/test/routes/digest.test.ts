import type { UsageDigestJson, UsageJson } from '@flashcase/config';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness';

const ZONE = 'Europe/Berlin';

describe('the usage digest and the users near their budgets', () => {
  let clock = 0;
  let h: Harness;
  const at = (iso: string) => {
    clock = DateTime.fromISO(iso, { zone: ZONE }).toMillis();
  };
  const periodsOf = (date: string) => ({ hour: `h${date}T10`, day: `d${date}`, month: `m${date.slice(0, 7)}` });
  const seed = (userId: string, date: string, costTicks: number, extra: { operation?: string; model?: string } = {}) =>
    h.store.recordUsage({
      userId,
      model: extra.model ?? 'grok-4-fast',
      operation: extra.operation ?? 'chat',
      promptTokens: 10,
      completionTokens: 5,
      costTicks,
      periods: periodsOf(date),
      ...(costTicks % 2 === 0 ? { billed: { billedTicks: costTicks, pricedTicks: costTicks } } : {}),
    });
  const get = async <T>(path: string) =>
    (await fetch(`${h.base}${path}`, { headers: h.as('ops', 'admin') })).json() as Promise<T>;

  beforeAll(async () => {
    h = await startHarness({
      now: () => clock,
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_MODEL: 'grok-4',
        AI_MAX_TOKENS_CHAT: '20',
        BUDGET_TIMEZONE: ZONE,
        // one call (about 3.2 M ticks) takes a user past half of it; a second one does not fit
        AI_BUDGET_USD_PER_USER_PER_DAY: '0.0005',
        AI_BUDGET_SOFT_RATIO: '0.5',
      },
      fake: { reasoning: false, replyTokens: 40 },
    });
    for (let back = 1; back <= 7; back++) {
      await seed('steady', DateTime.fromISO('2026-12-01').minus({ days: back }).toFormat('yyyy-LL-dd'), 700);
    }
    await seed('alice', '2026-12-01', 5_000, { operation: 'rewrite' });
    await seed('bob', '2026-12-01', 3_001, { model: 'grok-4' });
    await seed('carol', '2026-12-01', 1_000);
  });
  afterAll(() => h.close());

  it("lists a user near a budget in the usage JSON, and yesterday's review in the digest", async () => {
    at('2026-12-01T21:00');
    const first = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'card' }] }, 'dave');
    expect(first.status).toBe(200);
    expect((await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'card' }] }, 'dave')).status).toBe(
      429,
    );
    const usage = await get<UsageJson>('/api/v1/ai/usage');
    expect(usage.budget_soft_ratio).toBe(0.5);
    expect(usage.users_near_budget).toEqual([
      { user_id: 'dave', budget: 'user_daily_usd', used_ratio: expect.any(Number) },
    ]);
    expect(usage.users_near_budget[0]?.used_ratio).toBeGreaterThan(0.5);
    const daveCost = ((await first.json()) as { cost_estimate_usd: number }).cost_estimate_usd;

    // the next morning in Berlin
    at('2026-12-02T08:00');
    expect((await get<UsageJson>('/api/v1/ai/usage')).users_near_budget).toEqual([]);
    const digest = await get<UsageDigestJson>('/api/v1/ai/usage/digest');
    expect(digest.date).toBe('2026-12-01');
    expect(digest.time_zone).toBe(ZONE);
    expect(digest.top_users.map((u) => u.name)).toEqual(['dave', 'alice', 'bob', 'carol']);
    expect(digest.top_users[1]).toEqual({ name: 'alice', cost_usd: 5_000 / 1e10, total_tokens: 15, requests: 1 });
    expect(digest.day.requests).toBe(4);
    expect(digest.day.active_users).toBe(4);
    const dayTicks = 5_000 + 3_001 + 1_000 + Math.round(daveCost * 1e10);
    expect(Math.round(digest.day.cost_usd * 1e10)).toBe(dayTicks);
    expect(digest.previous_day).toMatchObject({
      requests: 1,
      cost_usd: 700 / 1e10,
      billed_usd: 700 / 1e10,
      billed_share: 1,
    });
    expect(digest.last_7_days_average).toMatchObject({ requests: 1, cost_usd: 700 / 1e10 });
    expect(digest.top_operations.map((o) => o.name)).toEqual(['chat', 'rewrite']);
    expect(digest.top_models[0]?.name).toBe('grok-4');
    expect(digest.budget_refusals).toEqual({ user_daily_usd: 1 });
    expect(digest.users_near_budget.map((u) => u.user_id)).toEqual(['dave']);
    expect(digest.per_active_user).toMatchObject({ month: '2026-12', active_users: 4 });

    const earlier = await get<UsageDigestJson>('/api/v1/ai/usage/digest?date=2026-11-30');
    expect(earlier.top_users.map((u) => u.name)).toEqual(['steady']);
    expect(earlier.budget_refusals).toEqual({});
    const bad = await fetch(`${h.base}/api/v1/ai/usage/digest?date=2026-13-40`, { headers: h.as('ops', 'admin') });
    expect(bad.status).toBe(400);
  });
});
