import { randomUUID } from 'node:crypto';
import type { InflightCall } from '@flashcase/store';
import type { WorstCase } from '../limits/ai-limits';
import type { UpstreamRequest } from '../operations/upstream-request';
import type { UsageAccounting } from '../usage/accounting';
import { plainUsage } from '../usage/token-usage';
import { estimatePromptTokens, roughPromptTokens } from '../usage/tokenizer';

/** What a reservation is priced with: the pricing table, and the report periods of now. */
export type Pricer = Pick<UsageAccounting, 'price' | 'periodsNow'>;

/**
 * The in-flight record of a call: what a surviving replica counts if this one dies before the
 * usage is written. Worst case, as a budget reservation is: the prompt (about 4 characters a
 * token, without the tokenizer's cost) and the whole `max_tokens` of every choice, at the table's
 * price (0 for an unpriced model). Each record has a fresh call id.
 */
export function inflightRecord(userId: string, req: UpstreamRequest, pricer: Pricer): InflightCall {
  const estimate = plainUsage(roughPromptTokens(req), req.maxTokens * req.choices);
  return {
    callId: randomUUID(),
    userId,
    model: req.model,
    operation: req.operation,
    estimate: {
      promptTokens: estimate.promptTokens,
      completionTokens: estimate.completionTokens,
      costTicks: pricer.price(req.model, estimate) ?? 0,
    },
    periods: pricer.periodsNow(),
  };
}

/**
 * What the budgets reserve: the prompt estimate (the tokenizer's, computed once and only when
 * asked for) plus `max_tokens` for every choice, and that at the table's price (long-context rates
 * when the prompt is long; 0 for an unpriced model).
 */
export function worstCase(req: UpstreamRequest, pricer: Pick<Pricer, 'price'>): WorstCase {
  let prompt: number | undefined;
  const promptTokens = () => {
    prompt ??= estimatePromptTokens(req);
    return prompt;
  };
  const completion = req.maxTokens * req.choices;
  return {
    tokens: () => promptTokens() + completion,
    ticks: () => pricer.price(req.model, plainUsage(promptTokens(), completion)) ?? 0,
  };
}
