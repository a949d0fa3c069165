/**
 * One call's usage, normalised: `promptTokens` include the cached ones and `completionTokens` the
 * reasoning ones (both billed as output), whichever way the provider reported reasoning, so that
 * `promptTokens + completionTokens` is the provider's `total_tokens`.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Of `completionTokens`. */
  reasoningTokens: number;
  /** Of `promptTokens`: read from the provider's prompt cache. */
  cachedPromptTokens: number;
  /** Live-search sources the provider used (xAI `num_sources_used`). */
  sources: number;
  /**
   * The prompt's modalities where the provider itemised them (`prompt_tokens_details`: text, image,
   * audio tokens; parts of `promptTokens`), for the usage record. They are priced as prompt tokens.
   */
  promptDetails?: { text?: number; image?: number; audio?: number } | undefined;
  /** The provider's billed cost in ticks (1e-10 USD; xAI `cost_in_usd_ticks`), when it sent one. */
  billedTicks?: number | undefined;
  /** Set when the provider's figures did not add up: why (they are recorded as far as known). */
  invalid?: string | undefined;
}

/** Usage with only prompt and completion tokens known (estimates, simple providers). */
export function plainUsage(promptTokens: number, completionTokens: number): TokenUsage {
  return { promptTokens, completionTokens, reasoningTokens: 0, cachedPromptTokens: 0, sources: 0 };
}
