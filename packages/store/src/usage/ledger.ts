import type { BilledCost, UsageCounters, UsageSnapshot } from '../types';
import { snapshotFromHash } from './counters';

/**
 * The fields of one usage hash (`{usage}:total` or `{usage}:user:<id>`) as integers: `p`, `c`, `r`,
 * `e`, `ct`, `rt`, `cp`, the same under `op:<name>:` and `model:<name>:`, and (totals only) the
 * pricing check `bn`, `bb`, `bp`. Zero fields are left out, `since` is not a field here, and the
 * legacy micro-dollars (`cost`, `op:<name>:cost`, ...) are read as ticks into `ct`.
 */
export type UsageFields = Map<string, number>;

/** One counted call as the usage hashes see it. */
export interface LedgerCall {
  operation: string;
  model: string;
  counters: UsageCounters;
  /** Set when the provider billed the call (the pricing check). */
  billed?: BilledCost | undefined;
}

const TICKS_PER_MICRO = 10_000;

function bump(into: UsageFields, field: string, n: number): void {
  if (n === 0) return;
  const value = (into.get(field) ?? 0) + n;
  if (value === 0) into.delete(field);
  else into.set(field, value);
}

function bumpCounters(into: UsageFields, prefix: string, counters: UsageCounters): void {
  bump(into, `${prefix}p`, counters.promptTokens);
  bump(into, `${prefix}c`, counters.completionTokens);
  bump(into, `${prefix}rt`, counters.reasoningTokens);
  bump(into, `${prefix}cp`, counters.cachedPromptTokens);
  bump(into, `${prefix}ct`, counters.costTicks);
  bump(into, `${prefix}r`, counters.requests);
  bump(into, `${prefix}e`, counters.errors);
}

/**
 * Adds what the store's usage script adds for `call` to a hash's fields: the plain counters and
 * their `op:` and `model:` breakdowns, and with `pricingCheck` (the totals hash) `bn`/`bb`/`bp`
 * when the call was billed. Mutates and returns `into`.
 */
export function addLedgerCall(into: UsageFields, call: LedgerCall, pricingCheck: boolean): UsageFields {
  bumpCounters(into, '', call.counters);
  bumpCounters(into, `op:${call.operation}:`, call.counters);
  bumpCounters(into, `model:${call.model}:`, call.counters);
  if (pricingCheck && call.billed) {
    bump(into, 'bn', 1);
    bump(into, 'bb', call.billed.billedTicks);
    bump(into, 'bp', call.billed.pricedTicks);
  }
  return into;
}

/**
 * The fields of a flattened usage hash (`HGETALL` reply) and its `since` (ms), legacy `cost` micros
 * folded into `ct`. Non-numeric values are skipped.
 */
export function fieldsFromHash(flat: readonly string[]): { fields: UsageFields; sinceMs: number | undefined } {
  const fields: UsageFields = new Map();
  let sinceMs: number | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = Number(flat[i + 1]);
    if (!Number.isSafeInteger(value)) continue;
    if (field === 'since') {
      sinceMs = value;
    } else if (field === 'cost' || field.endsWith(':cost')) {
      bump(fields, `${field.slice(0, -'cost'.length)}ct`, value * TICKS_PER_MICRO);
    } else {
      bump(fields, field, value);
    }
  }
  return { fields, sinceMs };
}

/** `want - have` per field, without the zeros (the increments that turn `have` into `want`). */
export function diffFields(want: UsageFields, have: UsageFields): UsageFields {
  const delta: UsageFields = new Map();
  for (const [field, n] of want) bump(delta, field, n - (have.get(field) ?? 0));
  for (const [field, n] of have) if (!want.has(field)) bump(delta, field, -n);
  return delta;
}

/** The counters of a hash's fields: totals, per operation, per model and the pricing check. */
export function countersOfFields(fields: UsageFields): Omit<UsageSnapshot, 'lastHour' | 'pricingCheckLast24h'> {
  const flat: string[] = [];
  for (const [field, n] of fields) flat.push(field, String(n));
  return snapshotFromHash(flat);
}
