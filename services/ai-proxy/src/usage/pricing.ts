import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** USD per 1M tokens for one model. */
export interface ModelPrice {
  input: number;
  output: number;
}

export type PricingTable = Readonly<Record<string, ModelPrice>>;

/**
 * Built-in prices (USD per 1M tokens) from xAI's published list; `PRICING_FILE` overrides or extends
 * them. Models absent from the table cost 0 and are flagged `unpriced` in logs.
 */
export const BUILT_IN_PRICING: PricingTable = Object.freeze({
  'grok-4-fast': { input: 0.2, output: 0.5 },
  'grok-4-fast-reasoning': { input: 0.2, output: 0.5 },
  'grok-4-fast-non-reasoning': { input: 0.2, output: 0.5 },
  'grok-4-1-fast': { input: 0.2, output: 0.5 },
  'grok-4': { input: 3, output: 15 },
  'grok-4-0709': { input: 3, output: 15 },
  'grok-code-fast-1': { input: 0.2, output: 1.5 },
  'grok-3': { input: 3, output: 15 },
  'grok-3-mini': { input: 0.3, output: 0.5 },
});

const priceSchema = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).strict();
const fileSchema = z.record(z.string().min(1), priceSchema);

/**
 * Reads a pricing file (JSON or YAML: `{ "<model>": { "input": <USD/1M>, "output": <USD/1M> } }`)
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
  return Object.freeze({ ...BUILT_IN_PRICING, ...parsed.data });
}

/**
 * Cost of one request in integer micro-dollars (1e-6 USD), rounded once per request so that
 * counters summed from these integers never drift. Undefined when the model has no price.
 */
export function costMicros(
  pricing: PricingTable,
  model: string,
  promptTokens: number,
  completionTokens: number,
): number | undefined {
  const price = pricing[model];
  if (!price) return undefined;
  // USD per 1M tokens is exactly micro-dollars per token.
  return Math.round(promptTokens * price.input + completionTokens * price.output);
}

/** Micro-dollars to dollars, for JSON answers and logs. */
export function microsToUsd(micros: number): number {
  return micros / 1_000_000;
}
