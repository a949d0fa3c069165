import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys } from '@flashcase/testkit';
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { periodsAt } from '../../src/budgets/periods';
import { API_KEY, type Harness, REDIS_URL, startHarness } from '../helpers/harness';
import { asUser, type Replica, replicaEnv, startReplica, stopReplicas } from '../helpers/replica';

const TICKS_PER_USD = 1e10;
/** grok-4's output price in the built-in table: $15 per million tokens, in ticks per token. */
const GROK_4_OUTPUT_TICKS = 150_000;

interface ChatAnswer {
  usage: { reasoning_tokens: number; completion_tokens: number };
  cost_estimate_usd: number;
}

interface Refusal {
  error: { code: string; type: string; budget: string; limit_usd: number; retry_after_s: number };
}

describe('dollar budgets across three ai-proxy replicas', () => {
  const prefix = `flashcase-test:spend:${process.pid}:${Date.now()}:`;
  const fakes: FakeOpenAI[] = [];
  const replicas: Replica[] = [];

  afterEach(async () => {
    await stopReplicas(replicas.splice(0));
    await Promise.all(fakes.splice(0).map((f) => f.close()));
  });
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  async function start(reasoning: boolean, keyPrefix: string) {
    const fake = await startFakeOpenAI({ apiKey: API_KEY, record: false, reasoning, replyTokens: 40 });
    fakes.push(fake);
    const env = replicaEnv(keyPrefix, fake.url, {
      AI_MODEL: 'grok-4',
      AI_MAX_TOKENS_CHAT: '20',
      AI_BUDGET_USD_PER_USER_PER_DAY: '0.01',
    });
    await Promise.all([0, 1, 2].map(async () => replicas.push(await startReplica(env))));
  }

  const burst = (userId: string, count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        fetch(`${replicas[i % replicas.length]?.base}/api/v1/ai/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...asUser(userId) },
          body: JSON.stringify({ messages: [{ role: 'user', content: `card ${i} on the heart` }] }),
        }),
      ),
    );

  async function outcome(answers: Response[]) {
    const admitted: ChatAnswer[] = [];
    const refused: Array<{ body: Refusal; retryAfter: number }> = [];
    for (const res of answers) {
      if (res.status === 200) admitted.push((await res.json()) as ChatAnswer);
      else {
        expect(res.status).toBe(429);
        refused.push({ body: (await res.json()) as Refusal, retryAfter: Number(res.headers.get('retry-after')) });
      }
    }
    const spentTicks = admitted.reduce((sum, a) => sum + Math.round(a.cost_estimate_usd * TICKS_PER_USD), 0);
    return { admitted, refused, spentTicks };
  }

  const budgetOf = async (userId: string) => {
    const res = await fetch(`${replicas[0]?.base}/api/v1/ai/budgets/users/${userId}`, {
      headers: asUser('ops', 'admin'),
    });
    return ((await res.json()) as { budgets: Array<{ budget: string; spent_usd: number; held_usd: number }> }).budgets;
  };

  it('never spends past the limit when the worst case holds, and refuses until local midnight', async () => {
    // No reasoning: every answer is cut at max_tokens, so no call costs more than it held.
    await start(false, `${prefix}exact:`);
    const { admitted, refused, spentTicks } = await outcome(await burst('spender', 60));
    expect(admitted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(spentTicks).toBeLessThanOrEqual(0.01 * TICKS_PER_USD);
    const daily = (await budgetOf('spender')).find((b) => b.budget === 'user_daily_usd');
    expect(daily?.held_usd).toBe(0);
    expect(Math.round((daily?.spent_usd ?? 0) * TICKS_PER_USD)).toBe(spentTicks);
    const toMidnightS = (periodsAt(Date.now(), 'UTC').dayEndsMs - Date.now()) / 1000;
    for (const { body, retryAfter } of refused) {
      expect(body.error).toMatchObject({
        code: 'budget_exceeded',
        type: 'rate_limit_error',
        budget: 'user_daily_usd',
        limit_usd: 0.01,
      });
      expect(Math.abs(retryAfter - toMidnightS)).toBeLessThan(30);
      expect(body.error.retry_after_s).toBe(retryAfter);
    }
  });

  it('overshoots by at most what reasoning adds beyond the worst case of the calls in flight', async () => {
    // xAI bills reasoning on top of max_tokens: the one part of a call its hold cannot bound.
    await start(true, `${prefix}reasoning:`);
    const { admitted, refused, spentTicks } = await outcome(await burst('thinker', 60));
    expect(refused.length).toBeGreaterThan(0);
    const overrunTicks = admitted.reduce((sum, a) => sum + a.usage.reasoning_tokens * GROK_4_OUTPUT_TICKS, 0);
    expect(spentTicks).toBeLessThanOrEqual(0.01 * TICKS_PER_USD + overrunTicks);
    const daily = (await budgetOf('thinker')).find((b) => b.budget === 'user_daily_usd');
    expect(Math.round((daily?.spent_usd ?? 0) * TICKS_PER_USD)).toBe(spentTicks);
  });
});

describe('calendar budgets in Europe/Berlin with an injected clock', () => {
  let clock = 0;
  let h: Harness;
  const at = (iso: string) => {
    clock = DateTime.fromISO(iso, { zone: 'utc' }).toMillis();
  };
  beforeAll(async () => {
    h = await startHarness({
      now: () => clock,
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_MODEL: 'grok-4',
        AI_MAX_TOKENS_CHAT: '20',
        BUDGET_TIMEZONE: 'Europe/Berlin',
        // one call's worst case (about 3.3 M ticks) fits; a second one's does not
        AI_BUDGET_USD_PER_USER_PER_DAY: '0.0005',
        AI_BUDGET_USD_PER_USER_PER_MONTH: '0.0012',
      },
      fake: { reasoning: false, replyTokens: 40 },
    });
  });
  afterAll(() => h.close());

  const chat = async (userId: string) => {
    const res = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'card' }] }, userId);
    const body = (await res.json()) as Partial<Refusal>;
    return { status: res.status, retryAfter: Number(res.headers.get('retry-after')), budget: body.error?.budget };
  };

  it('begins a new day at local midnight, 23 hours later on the spring DST change', async () => {
    // 2026-03-29: Berlin moves from CET (+1) to CEST (+2); that day lasts 23 hours
    at('2026-03-28T22:30:00Z'); // 23:30 on the 28th, Berlin
    expect((await chat('spring')).status).toBe(200);
    const refused = await chat('spring');
    expect(refused).toMatchObject({ status: 429, budget: 'user_daily_usd', retryAfter: 1800 });
    at('2026-03-28T23:00:00Z'); // midnight: the 29th begins
    expect((await chat('spring')).status).toBe(200);
    at('2026-03-29T21:30:00Z'); // 23:30 CEST on the 29th: 22.5 hours into a 23-hour day
    const late = await chat('spring');
    expect(late).toMatchObject({ status: 429, budget: 'user_daily_usd', retryAfter: 1800 });
    at('2026-03-29T22:00:00Z'); // midnight CEST: the 30th
    expect((await chat('spring')).status).toBe(200);
    // three days' spend is over the monthly budget: refused until April begins in Berlin
    at('2026-03-31T21:59:00Z');
    const month = await chat('spring');
    expect(month).toMatchObject({ status: 429, budget: 'user_monthly_usd', retryAfter: 60 });
    at('2026-03-31T22:00:00Z'); // 2026-04-01 00:00 CEST
    expect((await chat('spring')).status).toBe(200);
  });

  it('lasts 25 hours on the autumn DST change', async () => {
    // 2026-10-25: CEST (+2) back to CET (+1)
    at('2026-10-24T22:00:00Z'); // midnight CEST, the 25th begins
    expect((await chat('autumn')).status).toBe(200);
    at('2026-10-25T22:30:00Z'); // 23:30 CET on the 25th: 24.5 hours in
    expect(await chat('autumn')).toMatchObject({ status: 429, budget: 'user_daily_usd', retryAfter: 1800 });
    at('2026-10-25T23:00:00Z');
    expect((await chat('autumn')).status).toBe(200);
  });
});

describe('per-user budgets through the API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_MODEL: 'grok-4',
        AI_MAX_TOKENS_CHAT: '20',
        AI_BUDGET_USD_PER_USER_PER_DAY: '1',
      },
    });
  });
  afterAll(() => h.close());

  const api = (method: string, userId: string, body?: unknown, role: 'admin' | 'user' = 'admin') =>
    fetch(`${h.base}/api/v1/ai/budgets/users/${encodeURIComponent(userId)}`, {
      method,
      headers: { 'content-type': 'application/json', ...h.as('ops', role) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('sets, reads and deletes a user own limits; usage/me shows them; a call holds against them', async () => {
    const initial = await (await api('GET', 'ana|b:1')).json();
    expect(initial).toMatchObject({ user_id: 'ana|b:1', daily_usd: null, monthly_usd: null });

    const set = await api('PUT', 'ana|b:1', { daily_usd: 0.0000005, monthly_usd: 20 });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ daily_usd: 0.0000005, monthly_usd: 20 });
    const me = (await (await fetch(`${h.base}/api/v1/ai/usage/me`, { headers: h.as('ana|b:1') })).json()) as {
      budgets: Array<{ budget: string; limit_usd: number | null; source: string; resets_at: string }>;
    };
    expect(me.budgets).toEqual([
      expect.objectContaining({ budget: 'user_daily_usd', limit_usd: 0.0000005, source: 'user' }),
      expect.objectContaining({ budget: 'user_monthly_usd', limit_usd: 20, source: 'user' }),
    ]);
    expect(Date.parse(me.budgets[0]?.resets_at ?? '')).toBe(periodsAt(Date.now(), 'UTC').dayEndsMs);

    // every call's worst case is above the user's own daily limit; the default would allow it
    const refused = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 'ana|b:1');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as Refusal).error).toMatchObject({
      budget: 'user_daily_usd',
      limit_usd: 0.0000005,
    });
    expect(h.fake.requests).toHaveLength(0);

    const deleted = await api('DELETE', 'ana|b:1');
    expect(await deleted.json()).toMatchObject({ daily_usd: null, monthly_usd: null });
    const allowed = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 'ana|b:1');
    expect(allowed.status).toBe(200);
    const budgets = ((await (await api('GET', 'ana|b:1')).json()) as { budgets: Array<{ spent_usd: number }> }).budgets;
    expect(budgets[0]?.spent_usd).toBe(((await allowed.json()) as ChatAnswer).cost_estimate_usd);
  });

  it('lists a user near their own limit, and takes them off the list when an admin raises it', async () => {
    await api('PUT', 'nia', { daily_usd: 0.00038 });
    expect((await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 'nia')).status).toBe(200);
    const near = async () =>
      (
        (await (await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('ops', 'admin') })).json()) as {
          users_near_budget: Array<{ user_id: string; budget: string; used_ratio: number }>;
        }
      ).users_near_budget;
    const listed = (await near()).find((u) => u.user_id === 'nia');
    expect(listed?.budget).toBe('user_daily_usd');
    expect(listed?.used_ratio).toBeGreaterThanOrEqual(0.8);
    await api('PUT', 'nia', { daily_usd: 1 });
    expect((await near()).find((u) => u.user_id === 'nia')).toBeUndefined();
  });

  it('refuses bad limits with a 400 naming the field, and users other than admins', async () => {
    for (const [body, field] of [
      [{ daily_usd: -1 }, 'daily_usd'],
      [{ monthly_usd: 'ten' }, 'monthly_usd'],
      [{ daily_usd: 0.00000000001 }, 'daily_usd'],
      [{ weekly_usd: 5 }, 'body'],
    ] as const) {
      const res = await api('PUT', 'bob', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field);
    }
    expect((await api('PUT', 'bob', { daily_usd: 1 }, 'user')).status).toBe(403);
    expect((await api('GET', 'bob', undefined, 'user')).status).toBe(403);
  });
});
