import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness';

const chat = { messages: [{ role: 'user', content: 'quiz me on the krebs cycle' }] };

describe('AI rate limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ store: 'redis', env: { RATE_LIMIT_AI_PER_MINUTE: '5', RATE_LIMIT_AI_PER_HOUR: '50' } });
  });
  afterAll(() => h.close());

  it('admits exactly 5 concurrent calls a minute per user and refuses the rest with the contract 429', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, () => h.post('/api/v1/ai/chat', chat, 'busy-user')));
    const admitted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(7);
    const first = refused[0] as Response;
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(first.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(first.headers.get('ratelimit-limit')).toBe('5');
    expect(first.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    const body = (await first.json()) as {
      error: { code: string; limit: string; retry_after_s: number; request_id: string };
    };
    expect(body.error).toMatchObject({ code: 'rate_limited', limit: 'ai_per_minute' });
    expect(body.error.retry_after_s).toBe(Number(first.headers.get('retry-after')));
    // refused calls never reached the upstream and are not counted as requests
    expect(h.fake.requests).toHaveLength(5);
    const usage = (await (await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('a', 'admin') })).json()) as {
      usage: { total_requests: number };
    };
    expect(usage.usage.total_requests).toBe(5);
    // another user is not affected
    expect((await h.post('/api/v1/ai/chat', chat, 'other-user')).status).toBe(200);
    const rejections = (await h.points()).find(
      (p) => p.name === 'flashcase.ratelimit.rejections' && p.attributes.limit === 'ai_per_minute',
    );
    expect(rejections?.value).toBe(7);
  });
});

describe('per-user hourly token budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '1000',
        AI_MAX_TOKENS_CHAT: '150',
      },
    });
  });
  afterAll(() => h.close());

  it('never lets concurrent calls overshoot the budget, and settles reservations to real usage', async () => {
    // The upstream holds every answer back, so all 20 reservations are made before any settles.
    h.fake.setBehavior({ kind: 'slow-first-byte', delayMs: 300 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => h.post('/api/v1/ai/chat', chat, 'budget-user')));
    h.fake.setBehavior({ kind: 'ok' });
    const ok = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    const refusal = (await refused[0]?.json()) as { error: Record<string, unknown> };
    expect(refusal.error).toMatchObject({ code: 'budget_exceeded', budget: 'user_hourly_tokens', limit_tokens: 1000 });
    let used = 0;
    for (const res of ok) used += ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    expect(used).toBeLessThanOrEqual(1000);
    // reservations (prompt estimate + 150) were settled to the real, smaller usage: more fits now
    const later = await h.post('/api/v1/ai/chat', chat, 'budget-user');
    const fits = 1000 - used;
    const needed = 150 + 20;
    if (fits >= needed) expect(later.status).toBe(200);
  });

  it('reserves max_tokens for every choice a chat/completions call asks (n)', async () => {
    // 3 x 150 + the prompt fits the 1000-token budget; 7 x 150 does not, though n = 1 would
    const body = (n: number) => ({ messages: [{ role: 'user', content: 'two cards on ATP' }], n });
    const many = await h.post('/api/v1/ai/chat/completions', body(4), 'choices-user', {});
    expect(many.status).toBe(200);
    const answer = (await many.json()) as { choices: unknown[]; usage: { total_tokens: number } };
    expect(answer.choices).toHaveLength(4);
    const harness = await startHarness({
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '1000',
        AI_MAX_TOKENS_CHAT: '150',
        AI_MAX_N: '8',
      },
    });
    try {
      const refused = await harness.post('/api/v1/ai/chat/completions', body(7), 'choices-user');
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/token budget/);
      expect(harness.fake.requests).toHaveLength(0);
      const single = await harness.post('/api/v1/ai/chat/completions', body(1), 'choices-user');
      expect(single.status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('refuses a single call larger than the whole budget', async () => {
    const res = await h.post(
      '/api/v1/ai/chat',
      { messages: [{ role: 'user', content: 'word '.repeat(2000) }] },
      'big-user',
    );
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /more than the hourly token budget/,
    );
  });
});

describe('the hourly token budget with reasoning models', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      store: 'redis',
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '1500',
        AI_MAX_TOKENS_CHAT: '20',
      },
      // Every answer is cut at max_tokens; reasoning (8-32 tokens) comes on top of it, as xAI bills it.
      fake: { replyTokens: 40 },
    });
  });
  afterAll(() => h.close());

  it('settles reservations that reasoning overran to the real usage, overshooting by at most the overrun', async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: `flashcard number ${i}` }] }, 'thinker'),
      ),
    );
    const admitted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(admitted.length + refused.length).toBe(60);
    expect(refused.length).toBeGreaterThan(0);
    let used = 0;
    let overrun = 0;
    for (const res of admitted) {
      const body = (await res.json()) as {
        usage: { total_tokens: number; completion_tokens: number; reasoning_tokens: number };
      };
      used += body.usage.total_tokens;
      overrun += Math.max(0, body.usage.completion_tokens - 20);
      expect(body.usage.reasoning_tokens).toBeGreaterThan(0);
    }
    for (const res of refused) await res.arrayBuffer();
    // the counters hold what the provider reported, reasoning included
    expect((await h.store.userUsage('thinker')).totals.totalTokens).toBe(used);
    expect(overrun).toBeGreaterThan(0);
    // reserved up to the budget; reasoning beyond max_tokens is the only overshoot
    expect(used).toBeLessThanOrEqual(1500 + overrun);
    console.info(
      `token budget 1500: ${admitted.length} calls admitted, ${used} tokens used (overshoot ${Math.max(0, used - 1500)}, reasoning overrun ${overrun})`,
    );
  });
});
