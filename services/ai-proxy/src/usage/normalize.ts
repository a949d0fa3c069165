import type { TokenUsage } from './token-usage';

/**
 * Where a provider counts reasoning tokens: `outside` `completion_tokens` but inside
 * `total_tokens` (xAI), or `inside` `completion_tokens` (OpenAI).
 */
export type ReasoningRule = 'outside' | 'inside';

/** The reasoning rule of an OpenAI-compatible base URL: OpenAI's own API counts inside, others as xAI does. */
export function reasoningRuleOf(baseUrl: string): ReasoningRule {
  try {
    const host = new URL(baseUrl).hostname;
    return host === 'openai.com' || host.endsWith('.openai.com') ? 'inside' : 'outside';
  } catch {
    return 'outside';
  }
}

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/**
 * A provider's `usage` object, normalised (see `TokenUsage`): reads `prompt_tokens`,
 * `completion_tokens`, `total_tokens`, `prompt_tokens_details` (`cached_tokens`, and the text,
 * image and audio tokens where present),
 * `completion_tokens_details.reasoning_tokens`, `num_sources_used` and `cost_in_usd_ticks`.
 *
 * Which way reasoning was counted is read off the total: `prompt + completion + reasoning ==
 * total` is xAI's rule, `prompt + completion == total` OpenAI's; without a total, `rule` decides.
 *
 * Usage that does not add up (negative or fractional counts, non-numbers, a total that matches
 * neither rule, cached above prompt, reasoning above an inclusive completion, an invalid cost) is
 * kept as far as known, clamped to what can be counted, and marked with `invalid` (the first
 * problem). Undefined when there is no usage, or neither prompt nor completion tokens are numbers
 * (the caller estimates then; `invalidReason` says whether an object was there but unusable).
 */
export function normalizeUsage(raw: unknown, rule: ReasoningRule): TokenUsage | undefined {
  const usage = object(raw);
  if (!usage) return undefined;
  const problems: string[] = [];
  const count = (value: unknown, name: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push(`${name} is not a number`);
      return undefined;
    }
    if (value < 0 || !Number.isSafeInteger(value)) {
      problems.push(`${name} is not a non-negative integer`);
      return value < 0 ? 0 : Math.min(Math.round(value), Number.MAX_SAFE_INTEGER);
    }
    return value;
  };
  const prompt = count(usage.prompt_tokens, 'prompt_tokens');
  const completion = count(usage.completion_tokens, 'completion_tokens');
  if (prompt === undefined || completion === undefined) return undefined;
  const total = count(usage.total_tokens, 'total_tokens');
  let reasoning = count(object(usage.completion_tokens_details)?.reasoning_tokens, 'reasoning_tokens') ?? 0;
  const promptDetails = object(usage.prompt_tokens_details);
  let cached = count(promptDetails?.cached_tokens, 'cached_tokens') ?? 0;
  const sources = count(usage.num_sources_used, 'num_sources_used') ?? 0;
  const billed = count(usage.cost_in_usd_ticks, 'cost_in_usd_ticks');

  let outside = rule === 'outside';
  if (total !== undefined) {
    if (reasoning > 0 && prompt + completion + reasoning === total) outside = true;
    else if (prompt + completion === total) outside = false;
    else problems.push('total_tokens matches neither prompt + completion nor prompt + completion + reasoning');
  }
  if (!outside && reasoning > completion) {
    problems.push('reasoning_tokens exceed completion_tokens');
    reasoning = completion;
  }
  if (cached > prompt) {
    problems.push('cached_tokens exceed prompt_tokens');
    cached = prompt;
  }
  const normalised: TokenUsage = {
    promptTokens: prompt,
    completionTokens: outside ? completion + reasoning : completion,
    reasoningTokens: reasoning,
    cachedPromptTokens: cached,
    sources,
  };
  if (promptDetails) {
    const modalities: NonNullable<TokenUsage['promptDetails']> = {};
    for (const [name, field] of [
      ['text', 'text_tokens'],
      ['image', 'image_tokens'],
      ['audio', 'audio_tokens'],
    ] as const) {
      const value = count(promptDetails[field], field);
      if (value !== undefined) modalities[name] = value;
    }
    if (Object.keys(modalities).length > 0) normalised.promptDetails = modalities;
  }
  // A cost that had to be clamped is no bill: the call is priced from the table instead.
  if (billed !== undefined && billed === usage.cost_in_usd_ticks) normalised.billedTicks = billed;
  if (problems.length > 0) normalised.invalid = problems[0];
  return normalised;
}

/** Why a usage object that `normalizeUsage` could not read is unusable, or undefined when absent. */
export function invalidReason(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!object(raw)) return 'usage is not an object';
  const usage = raw as Json;
  for (const name of ['prompt_tokens', 'completion_tokens'] as const) {
    if (typeof usage[name] !== 'number' || !Number.isFinite(usage[name])) return `${name} is not a number`;
  }
  return undefined;
}
