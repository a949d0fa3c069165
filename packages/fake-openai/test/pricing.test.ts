import { describe, expect, it } from 'vitest';
import { type BilledTokens, costInUsdTicks, DEFAULT_PRICES, type ModelPrice, TICKS_PER_USD } from '../src/index';

const none: BilledTokens = {
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  reasoningTokens: 0,
  sourcesUsed: 0,
};
const price = (model: string) => DEFAULT_PRICES[model] as ModelPrice;

describe('xAI list prices', () => {
  it('prices the xAI docs example (grok-4-fast, 199 prompt of which 163 cached, 1 out) at 158 500 ticks', () => {
    const tokens = { ...none, promptTokens: 199, cachedTokens: 163, completionTokens: 1 };
    expect(costInUsdTicks(price('grok-4-fast'), tokens)).toBe(158_500n);
  });

  it('holds the published table, USD per 1M tokens, 25 USD per 1000 sources', () => {
    const row = (model: string) => {
      const p = price(model);
      return [p.input, p.cached_input, p.output, p.long_context?.input, p.long_context?.output, p.per_1k_sources];
    };
    for (const model of ['grok-4-fast', 'grok-4-fast-reasoning', 'grok-4-fast-non-reasoning', 'grok-4-1-fast']) {
      expect(row(model)).toEqual([0.2, 0.05, 0.5, 0.4, 1, 25]);
    }
    for (const model of ['grok-4', 'grok-4-0709']) expect(row(model)).toEqual([3, 0.75, 15, 6, 30, 25]);
    expect(row('grok-3')).toEqual([3, 0.75, 15, undefined, undefined, 25]);
    expect(row('grok-3-mini')).toEqual([0.3, 0.075, 0.5, undefined, undefined, 25]);
    expect(row('grok-code-fast-1')).toEqual([0.2, 0.02, 1.5, undefined, undefined, 25]);
    expect(price('grok-4').long_context?.above_prompt_tokens).toBe(128_000);
    expect(Object.isFrozen(DEFAULT_PRICES)).toBe(true);
  });
});

describe('the cost of one call in ticks', () => {
  it('charges uncached prompt, cached prompt, visible and reasoning output at their rates', () => {
    // grok-3-mini per token: input 0.30e-6 USD = 3 000 ticks, cached 0.075e-6 = 750, output 0.50e-6 = 5 000.
    const tokens = { ...none, promptTokens: 1_000, cachedTokens: 400, completionTokens: 20, reasoningTokens: 30 };
    expect(costInUsdTicks(price('grok-3-mini'), tokens)).toBe(600n * 3_000n + 400n * 750n + 50n * 5_000n);
  });

  it('prices the whole call at the long-context rates only above 128 000 prompt tokens', () => {
    // grok-4 per token: 30 000 / 7 500 / 150 000 ticks; above 128k: 60 000 input, 300 000 output, cached unchanged.
    const at = { ...none, promptTokens: 128_000, cachedTokens: 1_000, completionTokens: 10, reasoningTokens: 5 };
    expect(costInUsdTicks(price('grok-4'), at)).toBe(127_000n * 30_000n + 1_000n * 7_500n + 15n * 150_000n);
    const above = { ...at, promptTokens: 128_001 };
    expect(costInUsdTicks(price('grok-4'), above)).toBe(127_001n * 60_000n + 1_000n * 7_500n + 15n * 300_000n);
    // grok-3 has no long-context rates: still the base ones.
    expect(costInUsdTicks(price('grok-3'), above)).toBe(127_001n * 30_000n + 1_000n * 7_500n + 15n * 150_000n);
  });

  it('uses a long-context cached rate when the price names one', () => {
    const custom: ModelPrice = {
      input: 1,
      cached_input: 0.5,
      output: 2,
      long_context: { above_prompt_tokens: 10, input: 4, cached_input: 3, output: 8 },
    };
    const tokens = { ...none, promptTokens: 11, cachedTokens: 5, completionTokens: 1 };
    expect(costInUsdTicks(custom, tokens)).toBe(6n * 40_000n + 5n * 30_000n + 80_000n);
  });

  it('adds 25 USD per 1000 live-search sources, 0.025 USD each', () => {
    const tokens = { ...none, sourcesUsed: 3 };
    expect(costInUsdTicks(price('grok-4-fast'), tokens)).toBe((3n * 25n * TICKS_PER_USD) / 1000n);
    expect(costInUsdTicks({ input: 1, cached_input: 1, output: 1 }, tokens)).toBe(0n);
  });

  it('rounds half up once per call, not once per term', () => {
    const tiny: ModelPrice = { input: 5e-10, cached_input: 0, output: 5e-10 }; // 5 ticks per 1M tokens
    expect(costInUsdTicks(tiny, { ...none, promptTokens: 99_999 })).toBe(0n); // 0.499995 ticks
    expect(costInUsdTicks(tiny, { ...none, promptTokens: 100_000 })).toBe(1n); // 0.5 ticks
    // 0.3 + 0.2 ticks: 0 each on their own, 1 together.
    expect(costInUsdTicks(tiny, { ...none, promptTokens: 60_000, completionTokens: 40_000 })).toBe(1n);
  });

  it('converts decimal rates exactly, without binary rounding', () => {
    const tokens = { ...none, promptTokens: 3_000_000, completionTokens: 7_000_000 };
    // 0.1 and 0.7 are not exact in binary; 3M × 0.1 + 7M × 0.7 USD per 1M = 0.3 + 4.9 = 5.2 USD.
    expect(costInUsdTicks({ input: 0.1, cached_input: 0, output: 0.7 }, tokens)).toBe((52n * TICKS_PER_USD) / 10n);
    expect(costInUsdTicks({ input: 1e-10, cached_input: 0, output: 0 }, { ...none, promptTokens: 1_000_000 })).toBe(1n);
  });

  it('refuses rates ticks cannot express and figures that are not counts', () => {
    expect(() => costInUsdTicks({ input: 0.1 + 0.2, cached_input: 0, output: 0 }, none)).toThrow(RangeError);
    expect(() => costInUsdTicks({ input: -1, cached_input: 0, output: 0 }, none)).toThrow(RangeError);
    expect(() => costInUsdTicks({ input: Number.NaN, cached_input: 0, output: 0 }, none)).toThrow(RangeError);
    const ok = price('grok-4');
    expect(() => costInUsdTicks(ok, { ...none, promptTokens: 1.5 })).toThrow(RangeError);
    expect(() => costInUsdTicks(ok, { ...none, completionTokens: -1 })).toThrow(RangeError);
    expect(() => costInUsdTicks(ok, { ...none, promptTokens: 1, cachedTokens: 2 })).toThrow(RangeError);
  });
});
