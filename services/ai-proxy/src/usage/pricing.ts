import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { TokenUsage } from './token-usage';

/** Ticks per US dollar: xAI's billing unit (`cost_in_usd_ticks`), the unit every cost is summed in. */
export const TICKS_PER_USD = 10_000_000_000;

/** One price tier, in ticks per 1M tokens (exact integers: USD per 1M tokens x 1e10). */
export interface PriceTier {
  input: number;
  cachedInput: number;
  output: number;
}

/** One model's prices (see `PRICING_FILE` in the README). */
export interface ModelPrice extends PriceTier {
  /** When the prompt has more than `abovePromptTokens` tokens, the whole call is priced at this tier. */
  longContext?: PriceTier & { abovePromptTokens: number };
  /** Live search: ticks per source used. */
  perSource?: number;
}

export type PricingTable = Readonly<Record<string, ModelPrice>>;

/** USD per 1M tokens (or per 1000 sources) to integer ticks per 1M tokens (per 1000 sources). */
function ticks(usd: number): number {
  return Math.round(usd * TICKS_PER_USD);
}

/** Prices as written in a pricing file or the built-in table: USD per 1M tokens. */
interface UsdPrice {
  input: number;
  output: number;
  cached_input?: number | undefined;
  long_context?: { above_prompt_tokens: number; input: number; output: number; cached_input?: number | undefined };
  per_1k_sources?: number | undefined;
}

/**
 * USD prices to ticks. `cached_input` defaults to `input`; the long-context tier's `cached_input`
 * defaults to the base `cached_input` (xAI's cached price does not change with the prompt's length).
 */
function fromUsd(price: UsdPrice): ModelPrice {
  const cachedInput = ticks(price.cached_input ?? price.input);
  const model: ModelPrice = { input: ticks(price.input), cachedInput, output: ticks(price.output) };
  if (price.long_context) {
    const long = price.long_context;
    model.longContext = {
      abovePromptTokens: long.above_prompt_tokens,
      input: ticks(long.input),
      cachedInput: long.cached_input === undefined ? cachedInput : ticks(long.cached_input),
      output: ticks(long.output),
    };
  }
  if (price.per_1k_sources !== undefined) model.perSource = Math.round(ticks(price.per_1k_sources) / 1000);
  return model;
}

/** The date the built-in table was checked against xAI's published prices (README, "Cost"). */
export const BUILT_IN_PRICING_DATE = '2026-12-01';

const LONG = 128_000;
const SEARCH = 25; // USD per 1000 sources (live search)
const grok4Fast: UsdPrice = {
  input: 0.2,
  cached_input: 0.05,
  output: 0.5,
  long_context: { above_prompt_tokens: LONG, input: 0.4, output: 1 },
  per_1k_sources: SEARCH,
};
const grok4: UsdPrice = {
  input: 3,
  cached_input: 0.75,
  output: 15,
  long_context: { above_prompt_tokens: LONG, input: 6, output: 30 },
  per_1k_sources: SEARCH,
};

/**
 * Built-in prices (USD per 1M tokens) from xAI's published list (docs.x.ai, models and pricing),
 * checked on {@link BUILT_IN_PRICING_DATE}; `PRICING_FILE` overrides or extends them. Models absent
 * from the table cost 0 unless the provider bills them, and are flagged `unpriced` in logs.
 */
export const BUILT_IN_PRICING: PricingTable = Object.freeze(
  Object.fromEntries(
    Object.entries<UsdPrice>({
      'grok-4-fast': grok4Fast,
      'grok-4-fast-reasoning': grok4Fast,
      'grok-4-fast-non-reasoning': grok4Fast,
      'grok-4-1-fast': grok4Fast,
      'grok-4': grok4,
      'grok-4-0709': grok4,
      'grok-code-fast-1': { input: 0.2, cached_input: 0.02, output: 1.5 },
      'grok-3': { input: 3, cached_input: 0.75, output: 15, per_1k_sources: SEARCH },
      'grok-3-mini': { input: 0.3, cached_input: 0.075, output: 0.5, per_1k_sources: SEARCH },
    }).map(([model, price]) => [model, Object.freeze(fromUsd(price))]),
  ),
);

const usd = z.number().nonnegative().finite();
const priceSchema = z
  .object({
    input: usd,
    output: usd,
    cached_input: usd.optional(),
    long_context: z
      .object({
        above_prompt_tokens: z.number().int().nonnegative(),
        input: usd,
        output: usd,
        cached_input: usd.optional(),
      })
      .strict()
      .optional(),
    per_1k_sources: usd.optional(),
  })
  .strict();
const fileSchema = z.record(z.string().min(1), priceSchema);

/**
 * Reads a pricing file (JSON or YAML, per model, USD per 1M tokens: `input`, `output`, optional
 * `cached_input`, `long_context: {above_prompt_tokens, input, output, cached_input?}` and
 * `per_1k_sources`; the older `{input, output}` form is the same without the optional fields)
 * over the built-in table. Throws one line naming PRICING_FILE and the problem.
 */
export function loadPricing(file: string | undefined): PricingTable {
  if (!file) return BUILT_IN_PRICING;
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new Error(`PRICING_FILE ${file} could not be read: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`PRICING_FILE ${file} is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const overrides = Object.fromEntries(Object.entries(parsed.data).map(([model, price]) => [model, fromUsd(price)]));
  return Object.freeze({ ...BUILT_IN_PRICING, ...overrides });
}

/** The tokens and sources a call is priced on. */
export type PricedUsage = Pick<TokenUsage, 'promptTokens' | 'completionTokens' | 'cachedPromptTokens' | 'sources'>;

/**
 * What the table charges for one call, in integer ticks, rounded (half up) once per call: uncached
 * prompt tokens at `input`, cached ones at `cachedInput`, completion tokens (reasoning included) at
 * `output`, all at the long-context tier when the prompt is above its threshold, plus the sources.
 * Exact: integer arithmetic, BigInt when the products leave the safe range. Undefined when the
 * model has no price.
 */
export function priceTicks(pricing: PricingTable, model: string, usage: PricedUsage): number | undefined {
  const price = pricing[model];
  if (!price) return undefined;
  const tier =
    price.longContext && usage.promptTokens > price.longContext.abovePromptTokens ? price.longContext : price;
  const cached = Math.min(usage.cachedPromptTokens, usage.promptTokens);
  const uncached = usage.promptTokens - cached;
  const sources = (price.perSource ?? 0) * usage.sources;
  const perMillion = uncached * tier.input + cached * tier.cachedInput + usage.completionTokens * tier.output;
  if (perMillion + 500_000 <= Number.MAX_SAFE_INTEGER) {
    const halfUp = perMillion + 500_000;
    // `%` and the division of an exact multiple are exact on safe integers (a float quotient is not).
    return (halfUp - (halfUp % 1_000_000)) / 1_000_000 + sources;
  }
  const exact =
    BigInt(uncached) * BigInt(tier.input) +
    BigInt(cached) * BigInt(tier.cachedInput) +
    BigInt(usage.completionTokens) * BigInt(tier.output);
  return Number((exact + 500_000n) / 1_000_000n) + sources;
}

/** Ticks to dollars, for JSON answers, logs and metrics. */
export function ticksToUsd(ticksValue: number): number {
  return ticksValue / TICKS_PER_USD;
}
