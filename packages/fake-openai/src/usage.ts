/**
 * How a `usage` object is laid out, per provider:
 *
 * - `xai` (docs.x.ai): reasoning tokens are outside `completion_tokens` and inside `total_tokens`
 *   (`total = prompt + completion + reasoning`); `prompt_tokens_details` has `text_tokens`,
 *   `audio_tokens`, `image_tokens`, `cached_tokens`; and `num_sources_used` and, for a priced model,
 *   `cost_in_usd_ticks` (the exact billed cost, 1 USD = 1e10 ticks) follow.
 * - `openai`: reasoning tokens are inside `completion_tokens` (`total = prompt + completion`);
 *   `prompt_tokens_details` has `cached_tokens` and `audio_tokens`; no cost and no sources.
 *
 * In both, `cached_tokens` is part of `prompt_tokens`.
 */
export type UsageDialect = 'xai' | 'openai';

/** `completion_tokens_details`, the same in both dialects. */
export interface CompletionTokensDetails {
  reasoning_tokens: number;
  audio_tokens: number;
  accepted_prediction_tokens: number;
  rejected_prediction_tokens: number;
}

/** xAI's usage object, field for field as xAI sends it. */
export interface XaiUsage {
  prompt_tokens: number;
  /** Visible completion tokens only. */
  completion_tokens: number;
  /** `prompt_tokens + completion_tokens + completion_tokens_details.reasoning_tokens`. */
  total_tokens: number;
  prompt_tokens_details: { text_tokens: number; audio_tokens: number; image_tokens: number; cached_tokens: number };
  completion_tokens_details: CompletionTokensDetails;
  num_sources_used: number;
  /** Absent for a model the fake has no price for. */
  cost_in_usd_ticks?: number;
}

/** OpenAI's usage object, field for field as OpenAI sends it. */
export interface OpenAIUsage {
  prompt_tokens: number;
  /** Visible plus reasoning tokens. */
  completion_tokens: number;
  /** `prompt_tokens + completion_tokens`. */
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: CompletionTokensDetails;
}

/** The figures a usage object is built from. */
export interface UsageFigures {
  promptTokens: number;
  cachedTokens: number;
  /** Visible completion tokens. */
  completionTokens: number;
  reasoningTokens: number;
  /** Live-search sources; xAI only. */
  sourcesUsed: number;
  /** The billed cost; xAI only, and only for a priced model. */
  costInUsdTicks?: bigint;
}

/** `{ mode, max_search_results }` of xAI's Live Search request parameter. */
interface SearchParameters {
  mode?: unknown;
  max_search_results?: unknown;
}

const DEFAULT_SOURCES = 5;
const MAX_SOURCES = 5;

/**
 * The live-search sources the fake reports for a request body (xAI's `num_sources_used`): when
 * `search_parameters.mode` is `on` or `auto`, `min(max_search_results, 5)`, with 5 when
 * `max_search_results` is absent or not an integer >= 0; otherwise (no `search_parameters`, `mode`
 * `off` or absent) 0. The fake's searches always find that many sources.
 */
export function fakeSourcesUsed(body: Readonly<Record<string, unknown>>): number {
  const search = body.search_parameters;
  if (search === null || typeof search !== 'object') return 0;
  const { mode, max_search_results: max } = search as SearchParameters;
  if (mode !== 'on' && mode !== 'auto') return 0;
  const asked = typeof max === 'number' && Number.isInteger(max) && max >= 0 ? max : DEFAULT_SOURCES;
  return Math.min(asked, MAX_SOURCES);
}

/**
 * The usage object of one answer in `dialect`. xAI's carries `cost_in_usd_ticks` only when
 * `figures.costInUsdTicks` is set (as a JSON number: exact, since one call is far below 2^53 ticks,
 * about 900 000 USD).
 */
export function fakeUsage(dialect: 'xai', figures: UsageFigures): XaiUsage;
export function fakeUsage(dialect: 'openai', figures: UsageFigures): OpenAIUsage;
export function fakeUsage(dialect: UsageDialect, figures: UsageFigures): XaiUsage | OpenAIUsage;
export function fakeUsage(dialect: UsageDialect, figures: UsageFigures): XaiUsage | OpenAIUsage {
  const { promptTokens, cachedTokens, completionTokens, reasoningTokens } = figures;
  const completionDetails: CompletionTokensDetails = {
    reasoning_tokens: reasoningTokens,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  };
  if (dialect === 'openai') {
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens + reasoningTokens,
      total_tokens: promptTokens + completionTokens + reasoningTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: completionDetails,
    };
  }
  const usage: XaiUsage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens + reasoningTokens,
    prompt_tokens_details: { text_tokens: promptTokens, audio_tokens: 0, image_tokens: 0, cached_tokens: cachedTokens },
    completion_tokens_details: completionDetails,
    num_sources_used: figures.sourcesUsed,
  };
  if (figures.costInUsdTicks !== undefined) usage.cost_in_usd_ticks = Number(figures.costInUsdTicks);
  return usage;
}

/** `value` as a dialect, or undefined when it is none. */
export function asDialect(value: unknown): UsageDialect | undefined {
  return value === 'xai' || value === 'openai' ? value : undefined;
}
