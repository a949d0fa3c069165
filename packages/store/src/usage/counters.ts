import { assertCount } from '../limits/validate';
import type { UsageCounters, UsageRecord, UsageSnapshot } from '../types';

/**
 * A fresh set of zeroed usage counters (a new object on every call, safe to mutate).
 */
export function emptyCounters(): UsageCounters {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0, errors: 0, costMicros: 0 };
}

/** Adds `from` into `into` (mutates and returns `into`). */
export function addCounters(into: UsageCounters, from: UsageCounters): UsageCounters {
  into.promptTokens += from.promptTokens;
  into.completionTokens += from.completionTokens;
  into.totalTokens += from.totalTokens;
  into.requests += from.requests;
  into.errors += from.errors;
  into.costMicros += from.costMicros;
  return into;
}

/** The counters one usage record adds. */
export function countersOf(record: UsageRecord): UsageCounters {
  return {
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    totalTokens: record.promptTokens + record.completionTokens,
    requests: 1,
    errors: record.error ? 1 : 0,
    costMicros: record.costMicros,
  };
}

/** Throws RangeError when a record cannot be counted exactly (negative, fractional, unnamed). */
export function assertUsageRecord(record: UsageRecord): void {
  assertCount(record.promptTokens, 'promptTokens');
  assertCount(record.completionTokens, 'completionTokens');
  assertCount(record.costMicros, 'costMicros');
  if (record.timestampMs !== undefined) assertCount(record.timestampMs, 'timestampMs');
  for (const [name, value] of [
    ['userId', record.userId],
    ['model', record.model],
    ['operation', record.operation],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${name} must be a non-empty string`);
  }
}

/**
 * The flattened hash fields of the Redis layout: `p`, `c`, `r`, `e`, `cost` for the totals,
 * `op:<name>:<field>` and `model:<name>:<field>` for the breakdowns, `since` (ms) once.
 */
export const USAGE_FIELDS = ['p', 'c', 'r', 'e', 'cost'] as const;

/** Counters from the five base values in `USAGE_FIELDS` order (missing = 0). */
export function countersFromValues(values: readonly unknown[]): UsageCounters {
  const [p, c, r, e, cost] = USAGE_FIELDS.map((_, i) => Number(values[i] ?? 0) || 0);
  return { promptTokens: p, completionTokens: c, totalTokens: p + c, requests: r, errors: e, costMicros: cost };
}

function setField(counters: UsageCounters, field: string, value: number): void {
  switch (field) {
    case 'p':
      counters.promptTokens = value;
      break;
    case 'c':
      counters.completionTokens = value;
      break;
    case 'r':
      counters.requests = value;
      break;
    case 'e':
      counters.errors = value;
      break;
    case 'cost':
      counters.costMicros = value;
      break;
    default:
      return;
  }
  counters.totalTokens = counters.promptTokens + counters.completionTokens;
}

/**
 * A snapshot (without `lastHour`) from a flattened usage hash (`HGETALL` reply). Names may contain
 * `:`: the breakdown name is everything between the first and the last `:` of the field.
 */
export function snapshotFromHash(flat: readonly string[]): Omit<UsageSnapshot, 'lastHour'> {
  const totals = emptyCounters();
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
      setField(totals, field, value);
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
  const snapshot = { totals, byOperation: Object.fromEntries(byOperation), byModel: Object.fromEntries(byModel) };
  return since === undefined ? snapshot : { ...snapshot, since };
}
