/**
 * One model's prices in USD per 1 000 000 tokens, as xAI publishes them.
 *
 * - `cached_input` applies to the cached part of the prompt, `input` to the rest of it, `output` to
 *   visible completion and reasoning tokens alike.
 * - `long_context`: when a call's prompt exceeds `above_prompt_tokens`, the WHOLE call (every prompt,
 *   cached and output token) is priced at these rates; its `cached_input` defaults to the base one.
 * - `per_1k_sources`: USD per 1 000 live-search sources; absent means sources cost nothing.
 *
 * Every rate must be a finite, non-negative number with at most 10 decimal places, so that it is a
 * whole number of ticks (1e-10 USD) per 1M tokens.
 */
export interface ModelPrice {
  input: number;
  cached_input: number;
  output: number;
  long_context?: { above_prompt_tokens: number; input: number; cached_input?: number; output: number };
  per_1k_sources?: number;
}

/** Prices by exact model id. A model absent from the table is not priced at all. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** The figures of one call that its price depends on; all non-negative integers, `cachedTokens <= promptTokens`. */
export interface BilledTokens {
  promptTokens: number;
  /** The part of `promptTokens` served from the prompt cache. */
  cachedTokens: number;
  /** Visible completion tokens. */
  completionTokens: number;
  reasoningTokens: number;
  /** Live-search sources used. */
  sourcesUsed: number;
}

/** Ticks in one USD, the unit of xAI's `cost_in_usd_ticks`. */
export const TICKS_PER_USD = 10_000_000_000n;

const LONG_CONTEXT_ABOVE = 128_000;
const SOURCES_PER_1K = 25;

function grokPrice(input: number, cachedInput: number, output: number, long?: [number, number]): ModelPrice {
  const price: ModelPrice = { input, cached_input: cachedInput, output, per_1k_sources: SOURCES_PER_1K };
  if (long) price.long_context = { above_prompt_tokens: LONG_CONTEXT_ABOVE, input: long[0], output: long[1] };
  return Object.freeze(price);
}

const GROK_4_FAST = grokPrice(0.2, 0.05, 0.5, [0.4, 1]);
const GROK_4 = grokPrice(3, 0.75, 15, [6, 30]);

/**
 * xAI's published list prices (USD per 1M tokens; the long-context rates apply above 128 000 prompt
 * tokens, sources cost 25 USD per 1 000), the fake's default `prices`:
 *
 * | model | input / cached / output | above 128k: input / output |
 * |---|---|---|
 * | grok-4-fast, grok-4-fast-reasoning, grok-4-fast-non-reasoning, grok-4-1-fast | 0.20 / 0.05 / 0.50 | 0.40 / 1.00 |
 * | grok-4, grok-4-0709 | 3.00 / 0.75 / 15.00 | 6.00 / 30.00 |
 * | grok-3 | 3.00 / 0.75 / 15.00 | - |
 * | grok-3-mini | 0.30 / 0.075 / 0.50 | - |
 * | grok-code-fast-1 | 0.20 / 0.02 / 1.50 | - |
 *
 * Aliases (`grok-4-latest`, `grok-3-mini-beta`) are deliberately absent: such calls carry no cost.
 */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  'grok-4-fast': GROK_4_FAST,
  'grok-4-fast-reasoning': GROK_4_FAST,
  'grok-4-fast-non-reasoning': GROK_4_FAST,
  'grok-4-1-fast': GROK_4_FAST,
  'grok-4': GROK_4,
  'grok-4-0709': GROK_4,
  'grok-3': grokPrice(3, 0.75, 15),
  'grok-3-mini': grokPrice(0.3, 0.075, 0.5),
  'grok-code-fast-1': grokPrice(0.2, 0.02, 1.5),
});

/** Rates in ticks per 1M tokens (sources: ticks per 1M sources / 1000), checked once. */
export interface CompiledPrice {
  input: bigint;
  cachedInput: bigint;
  output: bigint;
  perSource: bigint;
  long?: { above: number; input: bigint; cachedInput: bigint; output: bigint };
}

const MILLION = 1_000_000n;
const HALF_MILLION = 500_000n;
const TICK_DIGITS = 10;

/**
 * `usd` × 1e10 as an exact integer, from the shortest decimal that round-trips the number (so 0.075
 * is 750 000 000, not the binary approximation's product). Throws RangeError for a negative or
 * non-finite rate and for one finer than 1e-10.
 */
export function usdToTicks(usd: number, what = 'price'): bigint {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`${what} must be a finite USD amount >= 0, got ${usd}`);
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(usd));
  if (!match) throw new RangeError(`${what} is not a plain decimal: ${usd}`);
  const [, whole = '', fraction = '', exponent = '0'] = match;
  const shift = TICK_DIGITS - fraction.length + Number(exponent);
  const digits = BigInt(whole + fraction);
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const unit = 10n ** BigInt(-shift);
  if (digits % unit !== 0n) throw new RangeError(`${what} has more than ${TICK_DIGITS} decimal places: ${usd}`);
  return digits / unit;
}

/** Checks a price and converts its rates to ticks; throws RangeError naming the bad field. */
export function compilePrice(price: ModelPrice, model = 'model'): CompiledPrice {
  const base = {
    input: usdToTicks(price.input, `${model}.input`),
    cachedInput: usdToTicks(price.cached_input, `${model}.cached_input`),
    output: usdToTicks(price.output, `${model}.output`),
    // NOTE: per 1 000 sources, so ticks per 1M sources are the rate's ticks × 1000; keeping every
    // term per 1M lets the whole call round once.
    perSource: usdToTicks(price.per_1k_sources ?? 0, `${model}.per_1k_sources`) * 1000n,
  };
  const long = price.long_context;
  if (long === undefined) return base;
  if (!Number.isInteger(long.above_prompt_tokens) || long.above_prompt_tokens < 0) {
    throw new RangeError(
      `${model}.long_context.above_prompt_tokens must be an integer >= 0, got ${long.above_prompt_tokens}`,
    );
  }
  return {
    ...base,
    long: {
      above: long.above_prompt_tokens,
      input: usdToTicks(long.input, `${model}.long_context.input`),
      cachedInput:
        long.cached_input === undefined
          ? base.cachedInput
          : usdToTicks(long.cached_input, `${model}.long_context.cached_input`),
      output: usdToTicks(long.output, `${model}.long_context.output`),
    },
  };
}

/** {@link costInUsdTicks} for a price already compiled with {@link compilePrice}; figures unchecked. */
export function compiledCost(price: CompiledPrice, tokens: BilledTokens): bigint {
  const long = price.long !== undefined && tokens.promptTokens > price.long.above ? price.long : undefined;
  const rates = long ?? price;
  const perMillion =
    BigInt(tokens.promptTokens - tokens.cachedTokens) * rates.input +
    BigInt(tokens.cachedTokens) * rates.cachedInput +
    BigInt(tokens.completionTokens + tokens.reasoningTokens) * rates.output +
    BigInt(tokens.sourcesUsed) * price.perSource;
  return (perMillion + HALF_MILLION) / MILLION;
}

/**
 * The exact cost of one call in ticks (1 USD = 1e10 ticks), as xAI bills it in `cost_in_usd_ticks`:
 *
 *   (prompt - cached) × input + cached × cached_input + (completion + reasoning) × output
 *   + sources × per_1k_sources / 1000
 *
 * with the rates in USD per 1M tokens, all of them the `long_context` ones when `promptTokens` is above
 * `long_context.above_prompt_tokens` (a prompt of exactly that many tokens is still base-priced).
 * Computed in integers: each rate becomes ticks per 1M tokens exactly, the products are summed and
 * divided by 1 000 000 once, rounding half up. Throws RangeError for a bad price (see
 * {@link ModelPrice}) or figures that are not non-negative integers with `cachedTokens <= promptTokens`.
 */
export function costInUsdTicks(price: ModelPrice, tokens: BilledTokens): bigint {
  for (const [name, value] of Object.entries(tokens)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
  }
  if (tokens.cachedTokens > tokens.promptTokens) {
    throw new RangeError(`cachedTokens (${tokens.cachedTokens}) exceeds promptTokens (${tokens.promptTokens})`);
  }
  return compiledCost(compilePrice(price), tokens);
}

/** Compiles a whole table, so a bad price fails start-up rather than a request. */
export function compilePrices(table: PriceTable): Map<string, CompiledPrice> {
  const compiled = new Map<string, CompiledPrice>();
  for (const [model, price] of Object.entries(table)) compiled.set(model, compilePrice(price, model));
  return compiled;
}
