import { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS } from '../time';
import type { BilledCost, PricingCheck, UsageCounters, UsageRecord, UsageSnapshot } from '../types';
import { addCounters, emptyCounters, emptyPricingCheck } from '../usage/counters';
import { addTo } from './buckets';

/** Running usage totals (cluster-wide or one user's) with their breakdowns and first call. */
export interface UsageTotals {
  totals: UsageCounters;
  byOperation: Map<string, UsageCounters>;
  byModel: Map<string, UsageCounters>;
  sinceMs?: number;
}

/** Pricing checks by hour start (ms). */
export type PricingHours = Map<number, PricingCheck>;

const HOUR_MS = 60 * MINUTE_MS;
const PRICING_HOURS = 24;

/** Zeroed totals with no first call. */
export function newTotals(): UsageTotals {
  return { totals: emptyCounters(), byOperation: new Map(), byModel: new Map() };
}

/** Counts one record's `counters` into `totals` and its breakdowns; `at` is the first call if none yet. */
export function addToTotals(totals: UsageTotals, record: UsageRecord, counters: UsageCounters, at: number): void {
  addCounters(totals.totals, counters);
  addTo(totals.byOperation, record.operation, counters);
  addTo(totals.byModel, record.model, counters);
  totals.sinceMs ??= at;
}

/** Counts one billed call into a pricing check. */
export function addBilled(check: PricingCheck, billed: BilledCost): void {
  check.calls += 1;
  check.billedTicks += billed.billedTicks;
  check.pricedTicks += billed.pricedTicks;
}

/** Counts a billed call made at `at` into its hour, unless that hour is past the bucket retention at `now`. */
export function addBilledHour(hours: PricingHours, billed: BilledCost, at: number, now: number): void {
  const hour = at - (at % HOUR_MS);
  if (hour + GLOBAL_BUCKET_RETENTION_MS <= now) return;
  let bucket = hours.get(hour);
  if (!bucket) {
    bucket = emptyPricingCheck();
    hours.set(hour, bucket);
  }
  addBilled(bucket, billed);
}

/** The pricing check of the last 24 hours at `now` (the current hour and the 23 before it). */
export function pricingLast24h(hours: PricingHours, now: number): PricingCheck {
  const last24h = emptyPricingCheck();
  const current = now - (now % HOUR_MS);
  for (let i = 0; i < PRICING_HOURS; i++) {
    const bucket = hours.get(current - i * HOUR_MS);
    if (!bucket) continue;
    last24h.calls += bucket.calls;
    last24h.billedTicks += bucket.billedTicks;
    last24h.pricedTicks += bucket.pricedTicks;
  }
  return last24h;
}

function cloneCounters(counters: UsageCounters): UsageCounters {
  return { ...counters };
}

/** A snapshot of `totals` that shares no object with the store (safe for the caller to mutate). */
export function snapshotOf(
  totals: UsageTotals,
  lastHour: UsageCounters,
  pricingCheck: PricingCheck,
  pricingCheckLast24h: PricingCheck,
): UsageSnapshot {
  const snapshot: UsageSnapshot = {
    totals: cloneCounters(totals.totals),
    lastHour,
    pricingCheck: { ...pricingCheck },
    pricingCheckLast24h,
    byOperation: Object.fromEntries([...totals.byOperation].map(([name, c]) => [name, cloneCounters(c)])),
    byModel: Object.fromEntries([...totals.byModel].map(([name, c]) => [name, cloneCounters(c)])),
  };
  if (totals.sinceMs !== undefined) snapshot.since = new Date(totals.sinceMs).toISOString();
  return snapshot;
}
