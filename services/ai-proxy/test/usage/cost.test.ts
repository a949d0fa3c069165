import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageJson } from '@flashcase/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeUsage } from '../../src/usage/normalize';
import { BUILT_IN_PRICING, loadPricing, priceTicks } from '../../src/usage/pricing';
import { billOf } from '../helpers/bill';
import { type Harness, startHarness } from '../helpers/harness';

const usd = (ticks: number) => ticks / 1e10;
const tokens = (promptTokens: number, completionTokens: number, cachedPromptTokens = 0, sources = 0) => ({
  promptTokens,
  completionTokens,
  cachedPromptTokens,
  sources,
});

describe('reading a provider usage object', () => {
  it("puts xAI's reasoning (outside completion_tokens) and OpenAI's (inside) into completion", () => {
    const xai = {
      prompt_tokens: 199,
      completion_tokens: 1,
      total_tokens: 294,
      prompt_tokens_details: { cached_tokens: 163 },
      completion_tokens_details: { reasoning_tokens: 94 },
      num_sources_used: 2,
      cost_in_usd_ticks: 158_500,
    };
    xai.prompt_tokens_details = { ...xai.prompt_tokens_details, text_tokens: 190, image_tokens: 9 } as never;
    expect(normalizeUsage(xai, 'inside')).toEqual({
      promptTokens: 199,
      completionTokens: 95,
      reasoningTokens: 94,
      cachedPromptTokens: 163,
      sources: 2,
      promptDetails: { text: 190, image: 9 },
      billedTicks: 158_500,
    });
    const openai = {
      prompt_tokens: 50,
      completion_tokens: 40,
      total_tokens: 90,
      completion_tokens_details: { reasoning_tokens: 30 },
    };
    expect(normalizeUsage(openai, 'outside')).toMatchObject({ completionTokens: 40, reasoningTokens: 30 });
    // no total: the provider's known rule decides
    const bare = { prompt_tokens: 5, completion_tokens: 7, completion_tokens_details: { reasoning_tokens: 3 } };
    expect(normalizeUsage(bare, 'outside')?.completionTokens).toBe(10);
    expect(normalizeUsage(bare, 'inside')?.completionTokens).toBe(7);
  });

  it('keeps what is known of usage that does not add up, and says why', () => {
    expect(normalizeUsage({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 99 }, 'outside')).toMatchObject({
      promptTokens: 10,
      completionTokens: 5,
      invalid: expect.stringContaining('neither'),
    });
    expect(normalizeUsage({ prompt_tokens: -4, completion_tokens: 3 }, 'outside')).toMatchObject({
      promptTokens: 0,
      invalid: expect.stringContaining('prompt_tokens'),
    });
    expect(
      normalizeUsage(
        { prompt_tokens: 4, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 9 } },
        'outside',
      ),
    ).toMatchObject({ cachedPromptTokens: 4, invalid: expect.stringContaining('cached') });
    expect(
      normalizeUsage({ prompt_tokens: 4, completion_tokens: 3, cost_in_usd_ticks: -1 }, 'outside')?.billedTicks,
    ).toBe(undefined);
    expect(normalizeUsage({ prompt_tokens: '4', completion_tokens: 3 }, 'outside')).toBeUndefined();
    expect(normalizeUsage(null, 'outside')).toBeUndefined();
  });
});

describe('the pricing table', () => {
  it('prices uncached, cached and completion tokens, long context and sources, in exact ticks', () => {
    // grok-4-fast: 0.20 input, 0.05 cached, 0.50 output per 1M tokens; 0.40 / 1.00 above 128k
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4-fast', tokens(1000, 200, 400))).toBe(
      600 * 2000 + 400 * 500 + 200 * 5000,
    );
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4-fast', tokens(128_001, 10))).toBe(128_001 * 4000 + 10 * 10_000);
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4-fast', tokens(128_000, 10))).toBe(128_000 * 2000 + 10 * 5000);
    // live search: $25 per 1000 sources
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4-fast', tokens(0, 0, 0, 3))).toBe(3 * 250_000_000);
    // grok-3-mini's cached input is 0.075: 750 ticks a token, no float error
    expect(priceTicks(BUILT_IN_PRICING, 'grok-3-mini', tokens(3, 0, 3))).toBe(2250);
    // rounded half up once per call (0.5 tick here)
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4-fast', tokens(0, 0, 0, 0))).toBe(0);
    expect(priceTicks(BUILT_IN_PRICING, 'unknown-model', tokens(1, 1))).toBeUndefined();
    // beyond 2^53 ticks per 1M tokens the BigInt path takes over, still exact
    expect(priceTicks(BUILT_IN_PRICING, 'grok-4', tokens(0, 400_000_000))).toBe(400_000_000 * 150_000);
  });

  it('reads the new and the old PRICING_FILE forms and refuses a bad one naming it', () => {
    const file = join(tmpdir(), `pricing-${process.pid}-${Date.now()}.yaml`);
    writeFileSync(
      file,
      [
        'old-model: { input: 1, output: 2 }',
        'new-model:',
        '  input: 1',
        '  cached_input: 0.1',
        '  output: 2',
        '  long_context: { above_prompt_tokens: 10, input: 3, output: 4 }',
        '  per_1k_sources: 10',
      ].join('\n'),
    );
    const table = loadPricing(file);
    expect(table['old-model']).toEqual({ input: 1e10, cachedInput: 1e10, output: 2e10 });
    expect(table['new-model']).toMatchObject({
      cachedInput: 1e9,
      longContext: { abovePromptTokens: 10, input: 3e10, cachedInput: 1e9, output: 4e10 },
      perSource: 1e8,
    });
    expect(table['grok-4-fast']).toEqual(BUILT_IN_PRICING['grok-4-fast']);
    writeFileSync(file, 'bad: { input: -1, output: 2 }');
    expect(() => loadPricing(file)).toThrow(/PRICING_FILE .* is invalid at bad.input/);
  });
});

describe('costs through ai-proxy', () => {
  let h: Harness;
  const admin = () => h.as('admin', 'admin');
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' } });
  });
  afterAll(() => h.close());

  async function calls(n: number): Promise<void> {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async (_, j) => {
          const res = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: `q ${i + j}` }] });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }),
      );
    }
  }

  it('sums 1000 billed calls of $0.000015 to exactly $0.015, and 1000 priced ones of $0.0000154 to $0.0154', async () => {
    h.fake.setBehavior({
      kind: 'usage',
      usage: { prompt_tokens: 75, completion_tokens: 0, total_tokens: 75, cost_in_usd_ticks: 150_000 },
    });
    await calls(1000);
    expect((await h.store.usage()).totals.costTicks).toBe(150_000_000);
    let json = (await (await fetch(`${h.base}/api/v1/ai/usage`, { headers: admin() })).json()) as UsageJson;
    expect(json.estimated_cost_usd).toBe(0.015);
    // 77 prompt tokens at $0.20 / 1M: 15.4 micro-dollars, which whole micro-dollars got 2.6 % wrong
    h.fake.setBehavior({ kind: 'usage', usage: { prompt_tokens: 77, completion_tokens: 0, total_tokens: 77 } });
    await calls(1000);
    expect((await h.store.usage()).totals.costTicks).toBe(150_000_000 + 154_000_000);
    json = (await (await fetch(`${h.base}/api/v1/ai/usage`, { headers: admin() })).json()) as UsageJson;
    expect(json.estimated_cost_usd).toBe(0.0304);
    h.fake.setBehavior({ kind: 'ok' });
  }, 60_000);

  it('answers, records and marks usage that does not add up', async () => {
    const before = (await h.store.usage()).totals;
    h.fake.setBehavior({ kind: 'usage', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 99 } });
    const odd = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'odd' }] });
    h.fake.setBehavior({ kind: 'usage', usage: { prompt_tokens: 'ten', completion_tokens: -5 } });
    const garbage = await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: 'garbage' }], stream: true });
    h.fake.setBehavior({ kind: 'ok' });
    expect(odd.status).toBe(200);
    expect(((await odd.json()) as { usage: { total_tokens: number } }).usage.total_tokens).toBe(15);
    expect(garbage.status).toBe(200);
    expect(await garbage.text()).toContain('"done":true');
    const after = (await h.store.usage()).totals;
    expect(after.requests - before.requests).toBe(2);
    expect(after.promptTokens - before.promptTokens).toBeGreaterThan(10); // 10 known + the estimate of the other
    const records = h.logs.lines.filter((l) => l.includes('usage_invalid'));
    expect(records.some((l) => l.includes('neither'))).toBe(true);
    expect(records.some((l) => l.includes('prompt_tokens is not a number'))).toBe(true);
    const invalid = (await h.points()).filter((p) => p.name === 'flashcase.ai.usage.invalid');
    expect(invalid.reduce((sum, p) => sum + Number(p.value), 0)).toBe(2);
  });
});

describe('the pricing check', () => {
  for (const [name, prices, drifts] of [
    ['a correct table', {}, false],
    ['a stale table', { 'grok-4-fast': { input: 0.3, output: 0.8 } }, true],
  ] as const) {
    it(`compares the bill with ${name}`, async () => {
      const file = join(tmpdir(), `pricing-check-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(prices));
      const h = await startHarness({
        env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0', PRICING_FILE: file },
      });
      try {
        for (let i = 0; i < 25; i++)
          await (await h.post('/api/v1/ai/chat', { messages: [{ role: 'user', content: `c${i}` }] })).arrayBuffer();
        const bill = billOf(h.fake.answers);
        const json = (await (
          await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('a', 'admin') })
        ).json()) as UsageJson;
        expect(json.pricing_check.calls_billed).toBe(25);
        expect(json.pricing_check.billed_usd).toBe(usd(bill.billedTicks));
        expect(json.estimated_cost_usd).toBe(usd(bill.billedTicks)); // the bill is what counts
        expect(json.pricing_check.last_24h.calls_billed).toBe(25);
        if (drifts) expect(json.pricing_check.last_24h.drift_ratio).toBeGreaterThan(0.05);
        else expect(json.pricing_check.last_24h.drift_ratio).toBe(0);
      } finally {
        await h.close();
      }
    });
  }
});
