import type { CountersStore } from '@flashcase/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DoneEvent,
  doneEvent,
  type Harness,
  type OperationUsage,
  readSse,
  startHarness,
} from '../helpers/harness';

interface Usage {
  usage: { total_prompt_tokens: number; total_completion_tokens: number; total_tokens: number; total_requests: number };
  alert_threshold: number;
  alert_triggered: boolean;
  estimated_cost_usd: number;
  last_hour: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    requests: number;
    estimated_cost_usd: number;
  };
  by_operation: Record<string, { total_tokens: number; requests: number }>;
  by_model: Record<string, { total_tokens: number; requests: number }>;
  projection: { hourly_usd: number; daily_usd: number; monthly_usd: number };
  since: string | null;
  cost_control: unknown;
  rate_limits: unknown;
}

for (const [storeKind, dialect] of [
  ['embedded', 'xai'],
  ['redis', 'xai'],
  ['embedded', 'openai'],
  ['redis', 'openai'],
] as const) {
  describe(`usage accounting (${storeKind} store, ${dialect} usage)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        store: storeKind,
        fake: { dialect },
        env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0', TOKEN_USAGE_ALERT_THRESHOLD: '400' },
      });
    });
    afterAll(() => h.close());

    it('keeps the seed usage JSON exact: totals equal the sum of upstream usage, by operation and model', async () => {
      const empty = (await (
        await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('admin', 'admin') })
      ).json()) as Usage;
      expect(empty.usage).toEqual({
        total_prompt_tokens: 0,
        total_completion_tokens: 0,
        total_tokens: 0,
        total_requests: 0,
        total_reasoning_tokens: 0,
        total_cached_prompt_tokens: 0,
      });
      expect(empty.alert_triggered).toBe(false);

      const bodies = [
        ['/api/v1/ai/chat', { messages: [{ role: 'user', content: 'one two three' }] }],
        ['/api/v1/ai/rewrite', { text: 'a card about cells' }],
        ['/api/v1/ai/autocomplete', { text: 'The heart has four' }],
        ['/api/v1/ai/chat', { messages: [{ role: 'user', content: 'streamed' }], stream: true }],
      ] as const;
      let prompt = 0;
      let completion = 0;
      let ticks = 0;
      let reasoning = 0;
      let cached = 0;
      const answers = await Promise.all(
        bodies.map(async ([path, body], i) => {
          const res = await h.post(path, body, `user-${i % 2}`);
          if ('stream' in body) {
            return doneEvent(await readSse(res)) as DoneEvent;
          }
          return (await res.json()) as {
            usage: OperationUsage;
            cost_estimate_usd: number;
          };
        }),
      );
      for (const answer of answers) {
        prompt += answer.usage.prompt_tokens;
        completion += answer.usage.completion_tokens;
        ticks += Math.round(answer.cost_estimate_usd * 1e10);
        reasoning += answer.usage.reasoning_tokens;
        cached += answer.usage.cached_prompt_tokens;
      }
      const usage = (await (
        await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('admin', 'admin') })
      ).json()) as Usage;
      expect(usage.usage).toEqual({
        total_prompt_tokens: prompt,
        total_completion_tokens: completion,
        total_tokens: prompt + completion,
        total_requests: 4,
        total_reasoning_tokens: reasoning,
        total_cached_prompt_tokens: cached,
      });
      expect(Math.round(usage.estimated_cost_usd * 1e10)).toBe(ticks);
      expect(usage.last_hour.total_tokens).toBe(prompt + completion);
      expect(usage.last_hour.requests).toBe(4);
      expect(usage.by_operation.chat?.requests).toBe(2);
      expect(usage.by_operation.rewrite?.requests).toBe(1);
      expect(usage.by_operation.autocomplete?.requests).toBe(1);
      expect(usage.by_model['grok-4-fast']?.total_tokens).toBe(prompt + completion);
      expect(usage.alert_threshold).toBe(400);
      expect(usage.alert_triggered).toBe(prompt + completion >= 400);
      expect(usage.projection.daily_usd).toBeCloseTo(usage.projection.hourly_usd * 24, 6);
      expect(usage.since).not.toBeNull();
      expect(usage.cost_control).toEqual({
        model: 'grok-4-fast',
        default_temperature: 0.7,
        max_tokens: { chat: 2000, rewrite: 1000, autocomplete: 500 },
      });
      expect(usage.rate_limits).toEqual({
        ai_per_minute: 0,
        ai_per_hour: 0,
        general_per_minute: 10,
        general_per_hour: 100,
      });

      const mine = (await (
        await fetch(`${h.base}/api/v1/ai/usage/me`, { headers: h.as('user-0') })
      ).json()) as Usage & {
        user_id: string;
      };
      expect(mine.user_id).toBe('user-0');
      const user0 = answers.filter((_, i) => i % 2 === 0);
      expect(mine.usage.total_tokens).toBe(
        user0.reduce((sum, a) => sum + a.usage.prompt_tokens + a.usage.completion_tokens, 0),
      );
      expect(mine.usage.total_requests).toBe(2);
    });

    it('lets only admins read global usage and the timeseries', async () => {
      expect((await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('u') })).status).toBe(403);
      expect((await fetch(`${h.base}/api/v1/ai/usage/timeseries`, { headers: h.as('u') })).status).toBe(403);
      const res = await fetch(`${h.base}/api/v1/ai/usage/timeseries?window=10m&step=120`, {
        headers: h.as('a', 'admin'),
      });
      expect(res.status).toBe(200);
      const series = (await res.json()) as {
        window_s: number;
        step_s: number;
        points: Array<{ total_tokens: number; requests: number }>;
      };
      expect(series.window_s).toBe(600);
      expect(series.step_s).toBe(120);
      expect(series.points.length).toBeGreaterThanOrEqual(5);
      expect(series.points.reduce((sum, p) => sum + p.requests, 0)).toBe(4);
      const bad = await fetch(`${h.base}/api/v1/ai/usage/timeseries?window=forever`, { headers: h.as('a', 'admin') });
      expect(bad.status).toBe(400);
    });
  });
}

describe('the counters write is off the response path', () => {
  it('answers while its usage write is still held back, and the write lands once let through', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    // The real store behind a gate: usage writes wait until the test opens it.
    const gated = (store: CountersStore): CountersStore =>
      new Proxy(store, {
        get(target, key, receiver) {
          if (key !== 'recordUsage') return Reflect.get(target, key, receiver);
          return async (...args: Parameters<CountersStore['recordUsage']>) => {
            held++;
            await gate;
            return target.recordUsage(...args);
          };
        },
      });
    const h = await startHarness({
      wrapStore: gated,
      env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' },
    });
    try {
      const timeout = new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), 3000).unref());
      const answer = await Promise.race([
        h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'What is ATP?' }] }, 'gated-user'),
        timeout,
      ]);
      if (answer === 'timed out') throw new Error('the answer waited for the held-back usage write');
      expect(answer.status).toBe(200);
      const { usage } = (await answer.json()) as { usage: { total_tokens: number } };
      expect(held).toBe(1);
      release();
      await gate;
      const mine = (await (
        await fetch(`${h.base}/api/v1/ai/usage/me`, { headers: h.as('gated-user') })
      ).json()) as Usage;
      expect(mine.usage.total_tokens).toBe(usage.total_tokens);
      expect(mine.usage.total_requests).toBe(1);
    } finally {
      release();
      await h.close();
    }
  });
});
