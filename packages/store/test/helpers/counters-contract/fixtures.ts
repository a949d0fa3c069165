import type { UsageCounters, UsageRecord } from '../../../src/index';
import { emptyCounters } from '../../../src/index';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export function minuteOf(ms: number): number {
  return ms - (ms % MINUTE);
}

export function add(into: UsageCounters, record: UsageRecord): void {
  into.promptTokens += record.promptTokens;
  into.completionTokens += record.completionTokens;
  into.totalTokens += record.promptTokens + record.completionTokens;
  into.reasoningTokens += record.reasoningTokens ?? 0;
  into.cachedPromptTokens += record.cachedPromptTokens ?? 0;
  into.requests += 1;
  into.errors += record.error ? 1 : 0;
  into.costTicks += record.costTicks;
}

export function sumPoints(points: { counters: UsageCounters }[]): UsageCounters {
  const sum = emptyCounters();
  for (const { counters } of points) {
    for (const field of Object.keys(sum) as (keyof UsageCounters)[]) sum[field] += counters[field];
  }
  return sum;
}

export function record(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    userId: 'u1',
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 10,
    completionTokens: 20,
    costTicks: 30,
    ...overrides,
  };
}
