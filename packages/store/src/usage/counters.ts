import { assertCount } from '../limits/validate';
import type { PricingCheck, UsageCounters, UsageRecord, UsageSnapshot } from '../types';
import { assertPeriods } from './periods';

/**
 * A fresh set of zeroed usage counters (a new object on every call, safe to mutate).
 */
export function emptyCounters(): UsageCounters {
  return {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    reasoningTokens: 0,
    cachedPromptTokens: 0,
    requests: 0,
    errors: 0,
    costTicks: 0,
  };
}

/** A zeroed pricing check (a new object). */
export function emptyPricingCheck(): PricingCheck {
  return { calls: 0, billedTicks: 0, pricedTicks: 0 };
}

/** Adds `from` into `into` (mutates and returns `into`). */
export function addCounters(into: UsageCounters, from: UsageCounters): UsageCounters {
  into.promptTokens += from.promptTokens;
  into.completionTokens += from.completionTokens;
  into.totalTokens += from.totalTokens;
  into.reasoningTokens += from.reasoningTokens;
  into.cachedPromptTokens += from.cachedPromptTokens;
  into.requests += from.requests;
  into.errors += from.errors;
  into.costTicks += from.costTicks;
  return into;
}

/** The counters one usage record adds. */
export function countersOf(record: UsageRecord): UsageCounters {
  return {
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    totalTokens: record.promptTokens + record.completionTokens,
    reasoningTokens: record.reasoningTokens ?? 0,
    cachedPromptTokens: record.cachedPromptTokens ?? 0,
    requests: 1,
    errors: record.error ? 1 : 0,
    costTicks: record.costTicks,
  };
}

/**
 * Throws RangeError when a record cannot be counted exactly: negative or fractional counts,
 * unnamed user, model or operation, reasoning above completion or cached above prompt tokens.
 */
export function assertUsageRecord(record: UsageRecord): void {
  assertCount(record.promptTokens, 'promptTokens');
  assertCount(record.completionTokens, 'completionTokens');
  assertCount(record.costTicks, 'costTicks');
  if (record.reasoningTokens !== undefined) assertCount(record.reasoningTokens, 'reasoningTokens');
  if (record.cachedPromptTokens !== undefined) assertCount(record.cachedPromptTokens, 'cachedPromptTokens');
  if ((record.reasoningTokens ?? 0) > record.completionTokens) {
    throw new RangeError('reasoningTokens must not exceed completionTokens (they are part of them)');
  }
  if ((record.cachedPromptTokens ?? 0) > record.promptTokens) {
    throw new RangeError('cachedPromptTokens must not exceed promptTokens (they are part of them)');
  }
  if (record.billed) {
    assertCount(record.billed.billedTicks, 'billed.billedTicks');
    assertCount(record.billed.pricedTicks, 'billed.pricedTicks');
  }
  if (record.timestampMs !== undefined) assertCount(record.timestampMs, 'timestampMs');
  if (record.callId !== undefined && (typeof record.callId !== 'string' || record.callId.length === 0)) {
    throw new RangeError('callId must be a non-empty string');
  }
  if (record.periods !== undefined) assertPeriods(record.periods);
  for (const [name, value] of [
    ['userId', record.userId],
    ['model', record.model],
    ['operation', record.operation],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${name} must be a non-empty string`);
  }
}

/**
 * The hash fields of the Redis layout, in the order the scripts return them: `p` prompt, `c`
 * completion, `r` requests, `e` errors, `ct` cost ticks, `rt` reasoning, `cp` cached prompt, and
 * `cost`, the integer micro-dollars of releases before ticks (read as 10 000 ticks each, never
 * written). The breakdowns are `op:<name>:<field>` and `model:<name>:<field>`; `since` (ms) once.
 */
export const USAGE_FIELDS = ['p', 'c', 'r', 'e', 'ct', 'rt', 'cp', 'cost'] as const;

/** Ticks per legacy micro-dollar (`cost`). */
const TICKS_PER_MICRO = 10_000;

/** The pricing check fields of the totals hash and the hour buckets: calls, billed ticks, priced ticks. */
export const PRICING_FIELDS = ['bn', 'bb', 'bp'] as const;

/** Counters from the values of `USAGE_FIELDS`, in that order (missing = 0). */
export function countersFromValues(values: readonly unknown[]): UsageCounters {
  const [p, c, r, e, ct, rt, cp, cost] = USAGE_FIELDS.map((_, i) => Number(values[i] ?? 0) || 0) as number[];
  return {
    promptTokens: p as number,
    completionTokens: c as number,
    totalTokens: (p as number) + (c as number),
    reasoningTokens: rt as number,
    cachedPromptTokens: cp as number,
    requests: r as number,
    errors: e as number,
    costTicks: (ct as number) + (cost as number) * TICKS_PER_MICRO,
  };
}

/** A pricing check from the values of `PRICING_FIELDS`, in that order (missing = 0). */
export function pricingFromValues(values: readonly unknown[]): PricingCheck {
  const [calls, billedTicks, pricedTicks] = PRICING_FIELDS.map((_, i) => Number(values[i] ?? 0) || 0) as number[];
  return { calls: calls as number, billedTicks: billedTicks as number, pricedTicks: pricedTicks as number };
}

function setField(counters: UsageCounters, field: string, value: number): boolean {
  switch (field) {
    case 'p':
      counters.promptTokens = value;
      break;
    case 'c':
      counters.completionTokens = value;
      break;
    case 'rt':
      counters.reasoningTokens = value;
      break;
    case 'cp':
      counters.cachedPromptTokens = value;
      break;
    case 'r':
      counters.requests = value;
      break;
    case 'e':
      counters.errors = value;
      break;
    case 'ct':
      counters.costTicks += value;
      break;
    case 'cost':
      counters.costTicks += value * TICKS_PER_MICRO;
      break;
    default:
      return false;
  }
  counters.totalTokens = counters.promptTokens + counters.completionTokens;
  return true;
}

/**
 * A snapshot (without `lastHour` and the last 24 h pricing check) from a flattened usage hash
 * (`HGETALL` reply). Names may contain `:`: the breakdown name is everything between the first and
 * the last `:` of the field.
 */
export function snapshotFromHash(flat: readonly string[]): Omit<UsageSnapshot, 'lastHour' | 'pricingCheckLast24h'> {
  const totals = emptyCounters();
  const pricingCheck = emptyPricingCheck();
  // Maps, not object literals: a model named `__proto__` must stay a plain entry.
  const byOperation = new Map<string, UsageCounters>();
  const byModel = new Map<string, UsageCounters>();
  let since: string | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string;
    const raw = flat[i + 1] as string;
    if (field === 'since') {
      since = new Date(Number(raw)).toISOString();
      continue;
    }
    const value = Number(raw);
    const first = field.indexOf(':');
    if (first < 0) {
      if (setField(totals, field, value)) continue;
      if (field === 'bn') pricingCheck.calls = value;
      else if (field === 'bb') pricingCheck.billedTicks = value;
      else if (field === 'bp') pricingCheck.pricedTicks = value;
      continue;
    }
    const last = field.lastIndexOf(':');
    const kind = field.slice(0, first);
    const name = field.slice(first + 1, last);
    const target = kind === 'op' ? byOperation : kind === 'model' ? byModel : undefined;
    if (!target || last === first) continue;
    let counters = target.get(name);
    if (!counters) {
      counters = emptyCounters();
      target.set(name, counters);
    }
    setField(counters, field.slice(last + 1), value);
  }
  const snapshot = {
    totals,
    pricingCheck,
    byOperation: Object.fromEntries(byOperation),
    byModel: Object.fromEntries(byModel),
  };
  return since === undefined ? snapshot : { ...snapshot, since };
}
