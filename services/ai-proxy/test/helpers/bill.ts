import { costInUsdTicks, DEFAULT_PRICES, type RecordedAnswer } from '@flashcase/fake-openai';

/** What the counters must hold for a set of upstream answers, worked out from the wire alone. */
export interface Bill {
  requests: number;
  promptTokens: number;
  /** Reasoning included, whichever dialect reported it. */
  completionTokens: number;
  reasoningTokens: number;
  cachedPromptTokens: number;
  /** The provider's bill where it sent one, else the fake's own price list (the built-in table's twin). */
  costTicks: number;
  billedCalls: number;
  billedTicks: number;
}

/** The `usage` totals `/api/v1/ai/usage` must report for `bill` (completion includes reasoning). */
export function usageTotalsJson(bill: Bill) {
  return {
    total_prompt_tokens: bill.promptTokens,
    total_completion_tokens: bill.completionTokens,
    total_tokens: bill.promptTokens + bill.completionTokens,
    total_requests: bill.requests,
    total_reasoning_tokens: bill.reasoningTokens,
    total_cached_prompt_tokens: bill.cachedPromptTokens,
  };
}

/** A prompt above grok-4-fast's 128k-token long-context threshold: three messages of 180 000 characters. */
export const LONG_PROMPT = [0, 1, 2].map((i) => ({
  role: 'user' as const,
  content: `${'study card '.repeat(16_363)}${i}`,
}));

interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  num_sources_used?: number;
  cost_in_usd_ticks?: number;
}

/**
 * The bill of the fake's answers, read independently of ai-proxy's normaliser: xAI counts reasoning
 * outside `completion_tokens` (its `total_tokens` says so), OpenAI inside. Unbilled answers are priced
 * with the fake's own price list and pricing function (the same published prices, other code).
 */
export function billOf(answers: readonly RecordedAnswer[]): Bill {
  const bill: Bill = {
    requests: 0,
    promptTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    cachedPromptTokens: 0,
    costTicks: 0,
    billedCalls: 0,
    billedTicks: 0,
  };
  for (const answer of answers) {
    const usage = answer.usage as WireUsage | undefined;
    if (!usage) throw new Error(`answer ${answer.id} carried no usage: the bill cannot be read off the wire`);
    const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0;
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    const outside = answer.dialect === 'xai';
    const visible = outside ? usage.completion_tokens : usage.completion_tokens - reasoning;
    bill.requests += 1;
    bill.promptTokens += usage.prompt_tokens;
    bill.completionTokens += visible + reasoning;
    bill.reasoningTokens += reasoning;
    bill.cachedPromptTokens += cached;
    if (usage.cost_in_usd_ticks !== undefined) {
      bill.costTicks += usage.cost_in_usd_ticks;
      bill.billedCalls += 1;
      bill.billedTicks += usage.cost_in_usd_ticks;
    } else {
      const price = DEFAULT_PRICES[answer.model];
      if (!price) throw new Error(`no price for ${answer.model}`);
      bill.costTicks += Number(
        costInUsdTicks(price, {
          promptTokens: usage.prompt_tokens,
          cachedTokens: cached,
          completionTokens: visible,
          reasoningTokens: reasoning,
          sourcesUsed: usage.num_sources_used ?? 0,
        }),
      );
    }
  }
  return bill;
}
