import type { UsageRecord } from '@flashcase/store';

/** A usage record line as ai-proxy's AILogger writes it (production JSON), with overrides. */
export function usageLine(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    timestamp: '2026-03-02T10:00:00.000Z',
    level: 'INFO',
    logger: 'ai-proxy.usage',
    message: 'AI chat grok-4-fast success: 150 tokens, $0.000100',
    service: 'flashcase-ai-proxy',
    record_type: 'ai_usage',
    operation: 'chat',
    model: 'grok-4-fast',
    tokens_used: 150,
    prompt_tokens: 100,
    completion_tokens: 50,
    reasoning_tokens: 10,
    cached_prompt_tokens: 20,
    tokens_estimated: false,
    cost_estimate: 0.0001,
    cost_usd_ticks: 1_000_000,
    cost_source: 'priced',
    duration_ms: 12,
    user_id: 'alice',
    outcome: 'success',
    request_id: 'req-1',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    replica_id: 'ai-proxy-a:1',
    seq: 1,
    ...overrides,
  };
}

/** What ai-proxy's accounting gives the store for the same record. */
export function storeRecord(line: Record<string, unknown>): UsageRecord {
  const billed = line.cost_source === 'billed' && line.priced_usd_ticks !== undefined;
  return {
    userId: String(line.user_id),
    model: String(line.model),
    operation: String(line.operation),
    promptTokens: Number(line.prompt_tokens),
    completionTokens: Number(line.completion_tokens),
    reasoningTokens: Number(line.reasoning_tokens ?? 0),
    cachedPromptTokens: Number(line.cached_prompt_tokens ?? 0),
    costTicks: Number(line.cost_usd_ticks),
    billed: billed
      ? { billedTicks: Number(line.cost_usd_ticks), pricedTicks: Number(line.priced_usd_ticks) }
      : undefined,
    error: line.outcome !== 'success' && line.outcome !== 'replica_lost',
  };
}
