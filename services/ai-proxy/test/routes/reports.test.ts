import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportPeriods } from '../../src/budgets/periods';
import { type Harness, startHarness } from '../helpers/harness';

const USERS = 10_000;

interface UsersAnswer {
  period: string;
  since: string;
  users: Array<{
    user_id: string;
    total_tokens: number;
    requests: number;
    estimated_cost_usd: number;
    budget: { budget: string; limit_usd: number | null; used_ratio: number | null } | null;
  }>;
}

describe('spend reports over 10,000 users', () => {
  let h: Harness;
  const costOf = (i: number) => ((i * 7919) % USERS) * 1000 + 1;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        BUDGET_TIMEZONE: 'Europe/Berlin',
        AI_BUDGET_USD_PER_USER_PER_DAY: '1',
      },
    });
    // the store's own write path, with the periods ai-proxy gives every record
    const periods = new ReportPeriods('Europe/Berlin').current();
    for (let from = 0; from < USERS; from += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, k) => {
          const i = from + k;
          return h.store.recordUsage({
            userId: `seed-${i}`,
            model: 'grok-4-fast',
            operation: i % 2 ? 'chat' : 'rewrite',
            promptTokens: i % 97,
            completionTokens: 3,
            costTicks: costOf(i),
            periods,
          });
        }),
      );
    }
  }, 60_000);
  afterAll(() => h.close());

  const get = (path: string, role: 'admin' | 'user' = 'admin') =>
    fetch(`${h.base}${path}`, { headers: h.as('ops', role) });

  it('ranks the top spenders of the day, with their budget use', async () => {
    // two real calls of one user, through the API: counted in the day's report like the seeded ones
    for (let i = 0; i < 2; i++) {
      const res = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 'live-user');
      expect(res.status).toBe(200);
    }
    const answer = (await (await get('/api/v1/ai/usage/users?period=day&sort=cost&limit=5')).json()) as UsersAnswer;
    const expected = Array.from({ length: USERS }, (_, i) => ({ id: `seed-${i}`, cost: costOf(i) }))
      .sort((a, b) => b.cost - a.cost)
      .slice(0, 5);
    expect(answer.period).toBe('day');
    expect(answer.users.map((u) => u.user_id)).toEqual(expected.map((e) => e.id));
    expect(answer.users.map((u) => u.estimated_cost_usd)).toEqual(expected.map((e) => e.cost / 1e10));
    expect(answer.users[0]?.budget).toMatchObject({ budget: 'user_daily_usd', limit_usd: 1 });
    // midnight in Berlin, as UTC
    expect(new Date(answer.since).getUTCMinutes()).toBe(0);

    const byTokens = (await (
      await get('/api/v1/ai/usage/users?period=month&sort=tokens&limit=3')
    ).json()) as UsersAnswer;
    expect(byTokens.users.map((u) => u.total_tokens)).toEqual([99, 99, 99]);

    const one = (await (await get('/api/v1/ai/usage/users/live-user')).json()) as {
      periods: Record<string, { requests: number; estimated_cost_usd: number }>;
    };
    expect(one.periods.hour?.requests).toBe(2);
    expect(one.periods.day?.requests).toBe(2);
    expect(one.periods.month?.estimated_cost_usd).toBeGreaterThan(0);

    const usage = (await (await get('/api/v1/ai/usage')).json()) as {
      per_active_user: { active_users: number; cost_usd: number; cost_per_active_user_usd: number };
    };
    expect(usage.per_active_user.active_users).toBe(USERS + 1);
    expect(usage.per_active_user.cost_per_active_user_usd).toBeCloseTo(usage.per_active_user.cost_usd / (USERS + 1), 9);
  });

  it('streams every user of the period as CSV, a page at a time', async () => {
    const res = await get('/api/v1/ai/usage/users?period=month&format=csv');
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'user_id,prompt_tokens,completion_tokens,reasoning_tokens,cached_prompt_tokens,total_tokens,requests,errors,estimated_cost_usd',
    );
    const rows = lines.slice(1).map((line) => line.split(','));
    expect(rows).toHaveLength(USERS + 1);
    expect(new Set(rows.map((r) => r[0])).size).toBe(USERS + 1);
    const seed42 = rows.find((r) => r[0] === 'seed-42');
    expect(seed42?.slice(1)).toEqual(['42', '3', '0', '0', '45', '1', '0', String(costOf(42) / 1e10)]);
  });

  it('refuses bad queries with a 400 naming the field, and users who are not admins', async () => {
    for (const [query, field] of [
      ['period=week', 'period'],
      ['sort=name', 'sort'],
      ['limit=0', 'limit'],
      ['limit=5000', 'limit'],
      ['format=xml', 'format'],
    ]) {
      const res = await get(`/api/v1/ai/usage/users?${query}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
    }
    expect((await get('/api/v1/ai/usage/users', 'user')).status).toBe(403);
  });
});
