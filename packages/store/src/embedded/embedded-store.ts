import { assertCount, assertDuration } from '../limits/validate';
import { assertRequestStatsDelta } from '../stats/request-stats';
import { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS, minuteOf, USER_BUCKET_RETENTION_MS } from '../time';
import type {
  BudgetDecision,
  CountersStore,
  InflightCall,
  PeriodSummary,
  PeriodUser,
  RateLimitDecision,
  RecoveredCall,
  RecoverOptions,
  RequestStats,
  RequestStatsDelta,
  TimeseriesPoint,
  UsageCounters,
  UsageRecord,
  UsageSnapshot,
  WindowLimit,
} from '../types';
import { assertUsageRecord, countersOf, emptyPricingCheck } from '../usage/counters';
import { aggregateSteps, stepLayout } from '../usage/timeseries';
import { addTo, lastHourOf, type MinuteBuckets, pruneMinutes } from './buckets';
import { type BudgetLogs, pruneBudgets, reserveIn, settleIn } from './budgets';
import { EmbeddedPeriods } from './periods';
import { type HitLogs, hitWindows, pruneHitLogs } from './rate-limits';
import { addRequestDelta, type RequestMinutes, sumRequestStats } from './request-stats';
import {
  addBilled,
  addBilledHour,
  addToTotals,
  newTotals,
  type PricingHours,
  pricingLast24h,
  snapshotOf,
  type UsageTotals,
} from './usage';

/** Options of {@link EmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** Clock (ms since epoch); tests pass a fake one. Default `Date.now`. */
  now?: () => number;
  /** Period of the background pruning of expired entries (unref'd timer); 0 = prune on access only. Default 60 000. */
  pruneIntervalMs?: number;
}

/**
 * The in-process counters store: exact rolling windows (a log of hit times per key and window),
 * budget reservations, usage counters with per-minute buckets and request stats, all in this
 * process's memory. For one process only: replicas each keep their own counts, so limits are per
 * replica and usage is not shared (the services say so at start-up).
 *
 * Every call is synchronous inside (atomic with respect to other calls) and resolves at once.
 * Memory is bounded by the windows: expired hits and reservations are pruned when their key is
 * used and by an unref'd timer; cluster-wide minute buckets are kept 25 h, per-user minute buckets
 * 2 h. Per-user totals live as long as the process (as they do in Redis).
 */
export class EmbeddedStore implements CountersStore {
  readonly kind = 'embedded' as const;

  private readonly now: () => number;
  private readonly hitLogs: HitLogs = new Map();
  private readonly budgets: BudgetLogs = new Map();
  private readonly usageTotals = newTotals();
  private readonly userTotals = new Map<string, UsageTotals>();
  private readonly minutes: MinuteBuckets = new Map();
  private readonly userMinutes = new Map<string, MinuteBuckets>();
  private readonly periods = new EmbeddedPeriods();
  private readonly requestMinutes: RequestMinutes = new Map();
  private readonly pricingCheck = emptyPricingCheck();
  /** Pricing check per hour (start ms), kept as long as the cluster-wide minute buckets. */
  private readonly pricingHours: PricingHours = new Map();
  private readonly timer: NodeJS.Timeout | undefined;
  private lastBucketPruneMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor({ now = Date.now, pruneIntervalMs = 60_000 }: EmbeddedStoreOptions = {}) {
    this.now = now;
    if (pruneIntervalMs > 0) {
      this.timer = setInterval(() => this.prune(), pruneIntervalMs);
      this.timer.unref();
    }
  }

  /** `begin` is ignored: in-flight calls die with this process (see `beginCall`). */
  async hit(key: string, windows: WindowLimit[], _begin?: InflightCall): Promise<RateLimitDecision> {
    return hitWindows(this.hitLogs, key, windows, this.now());
  }

  async reserveBudget(
    key: string,
    reservationId: string,
    tokens: number,
    budget: number,
    windowMs: number,
  ): Promise<BudgetDecision> {
    assertCount(tokens, 'tokens');
    assertCount(budget, 'budget');
    assertDuration(windowMs, 'windowMs');
    if (budget === 0) return { allowed: true, used: 0, budget: 0, retryAfterMs: 0 };
    return reserveIn(this.budgets, key, reservationId, tokens, budget, windowMs, this.now());
  }

  async settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void> {
    assertCount(tokens, 'tokens');
    assertDuration(windowMs, 'windowMs');
    settleIn(this.budgets, key, reservationId, tokens, windowMs, this.now());
  }

  async recordUsage(record: UsageRecord): Promise<void> {
    assertUsageRecord(record);
    const now = this.now();
    const at = record.timestampMs ?? now;
    const counters = countersOf(record);
    let user = this.userTotals.get(record.userId);
    if (!user) {
      user = newTotals();
      this.userTotals.set(record.userId, user);
    }
    addToTotals(this.usageTotals, record, counters, at);
    addToTotals(user, record, counters, at);
    if (record.billed) {
      addBilled(this.pricingCheck, record.billed);
      addBilledHour(this.pricingHours, record.billed, at, now);
    }
    const minute = minuteOf(at);
    if (minute + GLOBAL_BUCKET_RETENTION_MS > now) addTo(this.minutes, minute, counters);
    if (minute + USER_BUCKET_RETENTION_MS > now) {
      let buckets = this.userMinutes.get(record.userId);
      if (!buckets) {
        buckets = new Map();
        this.userMinutes.set(record.userId, buckets);
      }
      pruneMinutes(buckets, now - USER_BUCKET_RETENTION_MS);
      addTo(buckets, minute, counters);
    }
    this.periods.add(record, counters);
    this.pruneBucketsEveryMinute(now);
  }

  async periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    return this.periods.topUsers(period, sort, limit);
  }

  async scanPeriodUsers(
    period: string,
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; users: PeriodUser[] }> {
    return this.periods.scanUsers(period, cursor, count);
  }

  async periodUser(period: string, userId: string): Promise<UsageCounters> {
    return this.periods.user(period, userId);
  }

  async periodSummary(period: string): Promise<PeriodSummary> {
    return this.periods.summary(period);
  }

  /** In-flight calls die with this process: nothing to note. */
  async beginCall(_call: InflightCall): Promise<void> {}

  async cancelCall(_callId: string): Promise<void> {}

  /** One process has no other replica whose calls could be orphaned. */
  async recoverOrphanedCalls(_options: RecoverOptions): Promise<RecoveredCall[]> {
    return [];
  }

  async usage(): Promise<UsageSnapshot> {
    const now = this.now();
    return snapshotOf(
      this.usageTotals,
      lastHourOf(this.minutes, now),
      this.pricingCheck,
      pricingLast24h(this.pricingHours, now),
    );
  }

  async userUsage(userId: string): Promise<UsageSnapshot> {
    const totals = this.userTotals.get(userId) ?? newTotals();
    const lastHour = lastHourOf(this.userMinutes.get(userId), this.now());
    return snapshotOf(totals, lastHour, emptyPricingCheck(), emptyPricingCheck());
  }

  async lastHourTokens(): Promise<number> {
    return lastHourOf(this.minutes, this.now()).totalTokens;
  }

  async timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    const layout = stepLayout(this.now(), windowMs, stepMs);
    return aggregateSteps(layout, this.minutes);
  }

  async addRequestStats(delta: RequestStatsDelta): Promise<void> {
    assertRequestStatsDelta(delta);
    const now = this.now();
    addRequestDelta(this.requestMinutes, delta, now);
    this.pruneBucketsEveryMinute(now);
  }

  async requestStats(windowS: number): Promise<RequestStats> {
    return sumRequestStats(this.requestMinutes, windowS, this.now());
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('the embedded store is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Drops everything expired: hit logs, reservations, minute buckets past their retention. */
  prune(): void {
    const now = this.now();
    pruneHitLogs(this.hitLogs, now);
    pruneBudgets(this.budgets, now);
    for (const [userId, buckets] of this.userMinutes) {
      pruneMinutes(buckets, now - USER_BUCKET_RETENTION_MS);
      if (buckets.size === 0) this.userMinutes.delete(userId);
    }
    pruneMinutes(this.minutes, now - GLOBAL_BUCKET_RETENTION_MS);
    pruneMinutes(this.requestMinutes, now - GLOBAL_BUCKET_RETENTION_MS);
    pruneMinutes(this.pricingHours, now - GLOBAL_BUCKET_RETENTION_MS);
    this.lastBucketPruneMs = now;
  }

  /** Keeps the cluster-wide bucket maps bounded without a full scan on every write. */
  private pruneBucketsEveryMinute(now: number): void {
    if (now - this.lastBucketPruneMs < MINUTE_MS) return;
    pruneMinutes(this.minutes, now - GLOBAL_BUCKET_RETENTION_MS);
    pruneMinutes(this.pricingHours, now - GLOBAL_BUCKET_RETENTION_MS);
    pruneMinutes(this.requestMinutes, now - GLOBAL_BUCKET_RETENTION_MS);
    this.lastBucketPruneMs = now;
  }
}
