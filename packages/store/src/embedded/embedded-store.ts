import { UNLIMITED } from '../limits/decision';
import { activeWindows, assertCount, assertDuration } from '../limits/validate';
import {
  addRequestStatsInto,
  assertRequestStatsDelta,
  deltaMinute,
  emptyRequestStats,
  requestStatsMinutes,
} from '../stats/request-stats';
import { GLOBAL_BUCKET_RETENTION_MS, LAST_HOUR_MINUTES, MINUTE_MS, minuteOf, USER_BUCKET_RETENTION_MS } from '../time';
import type {
  BudgetDecision,
  CountersStore,
  InflightCall,
  PeriodSummary,
  PeriodUser,
  PricingCheck,
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
import { addCounters, assertUsageRecord, countersOf, emptyCounters, emptyPricingCheck } from '../usage/counters';
import { assertPeriod } from '../usage/periods';
import { aggregateSteps, stepLayout } from '../usage/timeseries';

/** Options of {@link EmbeddedStore}. */
export interface EmbeddedStoreOptions {
  /** Clock (ms since epoch); tests pass a fake one. Default `Date.now`. */
  now?: () => number;
  /** Period of the background pruning of expired entries (unref'd timer); 0 = prune on access only. Default 60 000. */
  pruneIntervalMs?: number;
}

interface HitLog {
  windowMs: number;
  /** Hit times, oldest first. */
  hits: number[];
}

interface BudgetLog {
  windowMs: number;
  reservations: Map<string, { atMs: number; tokens: number }>;
}

interface UsageTotals {
  totals: UsageCounters;
  byOperation: Map<string, UsageCounters>;
  byModel: Map<string, UsageCounters>;
  sinceMs?: number;
}

interface RequestBucket {
  requests: number;
  status4xx: number;
  status5xx: number;
  rateLimited: number;
  latencyBuckets: number[];
}

function newTotals(): UsageTotals {
  return { totals: emptyCounters(), byOperation: new Map(), byModel: new Map() };
}

function addTo<K>(map: Map<K, UsageCounters>, name: K, counters: UsageCounters): void {
  let entry = map.get(name);
  if (!entry) {
    entry = emptyCounters();
    map.set(name, entry);
  }
  addCounters(entry, counters);
}

function cloneCounters(counters: UsageCounters): UsageCounters {
  return { ...counters };
}

const HOUR_MS = 60 * MINUTE_MS;
const PRICING_HOURS = 24;

function snapshotOf(
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

/** Drops the entries of a time-keyed map whose key is at or before `cutoff`. */
function pruneMinutes<V>(map: Map<number, V>, cutoff: number): void {
  for (const minute of map.keys()) {
    if (minute <= cutoff) map.delete(minute);
  }
}

/** Removes the leading hits at or before `cutoff` (the log is sorted). */
function pruneHits(log: HitLog, cutoff: number): void {
  let expired = 0;
  while (expired < log.hits.length && (log.hits[expired] as number) <= cutoff) expired++;
  if (expired > 0) log.hits.splice(0, expired);
}

function pruneBudget(log: BudgetLog, cutoff: number): void {
  for (const [id, reservation] of log.reservations) {
    if (reservation.atMs <= cutoff) log.reservations.delete(id);
  }
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
interface EmbeddedPeriod {
  totals: UsageCounters;
  users: Map<string, UsageCounters>;
  byOperation: Map<string, UsageCounters>;
  byModel: Map<string, UsageCounters>;
  pricingCheck: PricingCheck;
}

/** Report periods the embedded store keeps, by kind: two days of hours, 40 days, 13 months. */
const PERIODS_KEPT = { h: 48, d: 40, m: 13 } as const;

export class EmbeddedStore implements CountersStore {
  readonly kind = 'embedded' as const;

  private readonly now: () => number;
  private readonly hitLogs = new Map<string, HitLog>();
  private readonly budgets = new Map<string, BudgetLog>();
  private readonly usageTotals = newTotals();
  private readonly userTotals = new Map<string, UsageTotals>();
  private readonly minutes = new Map<number, UsageCounters>();
  private readonly userMinutes = new Map<string, Map<number, UsageCounters>>();
  /** Report periods by label, oldest first (a Map keeps insertion order); see PERIODS_KEPT. */
  private readonly periods = new Map<string, EmbeddedPeriod>();
  private readonly requestMinutes = new Map<number, RequestBucket>();
  private readonly pricingCheck = emptyPricingCheck();
  /** Pricing check per hour (start ms), kept as long as the cluster-wide minute buckets. */
  private readonly pricingHours = new Map<number, PricingCheck>();
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
    const active = activeWindows(windows);
    if (active.length === 0) return { ...UNLIMITED };
    const now = this.now();
    const logs = active.map((window) => {
      const id = `${key}\u0000${window.name}\u0000${window.windowMs}`;
      let log = this.hitLogs.get(id);
      if (!log) {
        log = { windowMs: window.windowMs, hits: [] };
        this.hitLogs.set(id, log);
      }
      pruneHits(log, now - window.windowMs);
      return log;
    });

    // Refused when any window is full; report the one that frees a slot last.
    let refusedBy = -1;
    let longestWait = 0;
    active.forEach((window, i) => {
      const hits = (logs[i] as HitLog).hits;
      if (hits.length < window.limit) return;
      const wait = this.waitForSlot(hits, window, now);
      if (refusedBy < 0 || wait > longestWait) {
        refusedBy = i;
        longestWait = wait;
      }
    });
    if (refusedBy >= 0) {
      const window = active[refusedBy] as WindowLimit;
      return {
        allowed: false,
        limitName: window.name,
        limit: window.limit,
        remaining: 0,
        resetMs: longestWait,
        retryAfterMs: longestWait,
      };
    }

    let tightest = 0;
    let tightestRemaining = Number.POSITIVE_INFINITY;
    active.forEach((window, i) => {
      const log = logs[i] as HitLog;
      // Kept sorted even if the clock steps back.
      if (log.hits.length > 0 && now < (log.hits[log.hits.length - 1] as number)) {
        log.hits.splice(
          log.hits.findIndex((t) => t > now),
          0,
          now,
        );
      } else {
        log.hits.push(now);
      }
      const remaining = window.limit - log.hits.length;
      if (remaining < tightestRemaining) {
        tightest = i;
        tightestRemaining = remaining;
      }
    });
    const window = active[tightest] as WindowLimit;
    const hits = (logs[tightest] as HitLog).hits;
    return {
      allowed: true,
      limit: window.limit,
      remaining: tightestRemaining,
      resetMs: tightestRemaining > 0 ? 0 : this.waitForSlot(hits, window, now),
      retryAfterMs: 0,
    };
  }

  /** Ms until a full window (`hits.length >= limit`) has room for one more hit; at least 1. */
  private waitForSlot(hits: number[], window: WindowLimit, now: number): number {
    const leaving = hits[hits.length - window.limit] as number;
    return Math.max(1, leaving + window.windowMs - now);
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
    const now = this.now();
    let log = this.budgets.get(key);
    if (!log) {
      log = { windowMs, reservations: new Map() };
      this.budgets.set(key, log);
    }
    log.windowMs = windowMs;
    pruneBudget(log, now - windowMs);
    let used = 0;
    for (const [id, reservation] of log.reservations) {
      if (id !== reservationId) used += reservation.tokens;
    }
    if (used + tokens > budget) {
      return {
        allowed: false,
        used,
        budget,
        retryAfterMs: this.budgetWait(log, reservationId, used + tokens - budget, tokens > budget, now),
      };
    }
    // Re-reserving an id replaces it (and moves it to the end of the window).
    log.reservations.delete(reservationId);
    log.reservations.set(reservationId, { atMs: now, tokens });
    return { allowed: true, used: used + tokens, budget, retryAfterMs: 0 };
  }

  /** Ms until reservations totalling `excess` tokens have left the window (the whole window if never). */
  private budgetWait(log: BudgetLog, reservationId: string, excess: number, neverFits: boolean, now: number): number {
    if (neverFits) return log.windowMs;
    let freed = 0;
    // Map iteration order is insertion order, which is time order here.
    for (const [id, reservation] of log.reservations) {
      if (id === reservationId) continue;
      freed += reservation.tokens;
      if (freed >= excess) return Math.max(1, reservation.atMs + log.windowMs - now);
    }
    return log.windowMs;
  }

  async settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void> {
    assertCount(tokens, 'tokens');
    assertDuration(windowMs, 'windowMs');
    const log = this.budgets.get(key);
    if (!log) return;
    pruneBudget(log, this.now() - windowMs);
    const reservation = log.reservations.get(reservationId);
    if (!reservation) return;
    if (tokens === 0) log.reservations.delete(reservationId);
    else reservation.tokens = tokens;
    if (log.reservations.size === 0) this.budgets.delete(key);
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
    for (const totals of [this.usageTotals, user]) {
      addCounters(totals.totals, counters);
      addTo(totals.byOperation, record.operation, counters);
      addTo(totals.byModel, record.model, counters);
      totals.sinceMs ??= at;
    }
    if (record.billed) {
      const hour = at - (at % HOUR_MS);
      const targets = [this.pricingCheck];
      if (hour + GLOBAL_BUCKET_RETENTION_MS > now) {
        let bucket = this.pricingHours.get(hour);
        if (!bucket) {
          bucket = emptyPricingCheck();
          this.pricingHours.set(hour, bucket);
        }
        targets.push(bucket);
      }
      for (const target of targets) {
        target.calls += 1;
        target.billedTicks += record.billed.billedTicks;
        target.pricedTicks += record.billed.pricedTicks;
      }
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
    if (record.periods) {
      for (const label of [record.periods.hour, record.periods.day, record.periods.month]) {
        const period = this.period(label);
        addCounters(period.totals, counters);
        addTo(period.users, record.userId, counters);
        addTo(period.byOperation, record.operation, counters);
        addTo(period.byModel, record.model, counters);
        if (record.billed) {
          period.pricingCheck.calls += 1;
          period.pricingCheck.billedTicks += record.billed.billedTicks;
          period.pricingCheck.pricedTicks += record.billed.pricedTicks;
        }
      }
    }
    this.pruneBucketsEveryMinute(now);
  }

  /** A report period, made when first counted in; the oldest of its kind beyond PERIODS_KEPT go. */
  private period(label: string) {
    let period = this.periods.get(label);
    if (!period) {
      period = {
        totals: emptyCounters(),
        users: new Map(),
        byOperation: new Map(),
        byModel: new Map(),
        pricingCheck: emptyPricingCheck(),
      };
      this.periods.set(label, period);
      const kind = label[0] as keyof typeof PERIODS_KEPT;
      const same = [...this.periods.keys()].filter((key) => key[0] === kind);
      for (const old of same.slice(0, Math.max(0, same.length - PERIODS_KEPT[kind]))) this.periods.delete(old);
    }
    return period;
  }

  async periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    assertPeriod(period);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`limit must be 1..1000, got ${limit}`);
    const users = [...(this.periods.get(period)?.users ?? new Map<string, UsageCounters>())].map(
      ([userId, counters]) => ({ userId, counters: { ...counters } }),
    );
    const key = sort === 'cost' ? 'costTicks' : 'totalTokens';
    return users.sort((a, b) => b.counters[key] - a.counters[key]).slice(0, limit);
  }

  async scanPeriodUsers(
    period: string,
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; users: PeriodUser[] }> {
    assertPeriod(period);
    assertCount(count, 'count');
    const all = [...(this.periods.get(period)?.users ?? new Map<string, UsageCounters>())];
    const from = Number(cursor) || 0;
    const page = all.slice(from, from + Math.max(1, count));
    const next = from + page.length;
    return {
      cursor: next >= all.length ? '0' : String(next),
      users: page.map(([userId, counters]) => ({ userId, counters: { ...counters } })),
    };
  }

  async periodUser(period: string, userId: string): Promise<UsageCounters> {
    assertPeriod(period);
    return { ...(this.periods.get(period)?.users.get(userId) ?? emptyCounters()) };
  }

  async periodSummary(period: string): Promise<PeriodSummary> {
    assertPeriod(period);
    const found = this.periods.get(period);
    const copy = (map: Map<string, UsageCounters> | undefined) =>
      Object.fromEntries([...(map ?? [])].map(([name, c]) => [name, { ...c }]));
    return {
      counters: { ...(found?.totals ?? emptyCounters()) },
      activeUsers: found?.users.size ?? 0,
      byOperation: copy(found?.byOperation),
      byModel: copy(found?.byModel),
      pricingCheck: { ...(found?.pricingCheck ?? emptyPricingCheck()) },
    };
  }

  /** In-flight calls die with this process: nothing to note. */
  async beginCall(_call: InflightCall): Promise<void> {}

  async cancelCall(_callId: string): Promise<void> {}

  /** One process has no other replica whose calls could be orphaned. */
  async recoverOrphanedCalls(_options: RecoverOptions): Promise<RecoveredCall[]> {
    return [];
  }

  async usage(): Promise<UsageSnapshot> {
    const last24h = emptyPricingCheck();
    const current = this.now() - (this.now() % HOUR_MS);
    for (let i = 0; i < PRICING_HOURS; i++) {
      const bucket = this.pricingHours.get(current - i * HOUR_MS);
      if (!bucket) continue;
      last24h.calls += bucket.calls;
      last24h.billedTicks += bucket.billedTicks;
      last24h.pricedTicks += bucket.pricedTicks;
    }
    return snapshotOf(this.usageTotals, this.lastHourOf(this.minutes), this.pricingCheck, last24h);
  }

  async userUsage(userId: string): Promise<UsageSnapshot> {
    const totals = this.userTotals.get(userId) ?? newTotals();
    return snapshotOf(totals, this.lastHourOf(this.userMinutes.get(userId)), emptyPricingCheck(), emptyPricingCheck());
  }

  async lastHourTokens(): Promise<number> {
    return this.lastHourOf(this.minutes).totalTokens;
  }

  private lastHourOf(buckets: Map<number, UsageCounters> | undefined): UsageCounters {
    const sum = emptyCounters();
    if (!buckets) return sum;
    const current = minuteOf(this.now());
    for (let i = 0; i < LAST_HOUR_MINUTES; i++) {
      const bucket = buckets.get(current - i * MINUTE_MS);
      if (bucket) addCounters(sum, bucket);
    }
    return sum;
  }

  async timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    const layout = stepLayout(this.now(), windowMs, stepMs);
    return aggregateSteps(layout, this.minutes);
  }

  async addRequestStats(delta: RequestStatsDelta): Promise<void> {
    assertRequestStatsDelta(delta);
    const now = this.now();
    const minute = deltaMinute(delta);
    if (minute + GLOBAL_BUCKET_RETENTION_MS <= now) return;
    let bucket = this.requestMinutes.get(minute);
    if (!bucket) {
      bucket = { requests: 0, status4xx: 0, status5xx: 0, rateLimited: 0, latencyBuckets: [] };
      this.requestMinutes.set(minute, bucket);
    }
    bucket.requests += delta.requests;
    bucket.status4xx += delta.status4xx;
    bucket.status5xx += delta.status5xx;
    bucket.rateLimited += delta.rateLimited ?? 0;
    delta.latencyBuckets.forEach((n, i) => {
      bucket.latencyBuckets[i] = (bucket.latencyBuckets[i] ?? 0) + n;
    });
    this.pruneBucketsEveryMinute(now);
  }

  async requestStats(windowS: number): Promise<RequestStats> {
    const minutes = requestStatsMinutes(windowS);
    const stats = emptyRequestStats(windowS);
    const current = minuteOf(this.now());
    for (let i = 0; i < minutes; i++) {
      const bucket = this.requestMinutes.get(current - i * MINUTE_MS);
      if (bucket) addRequestStatsInto(stats, bucket);
    }
    return stats;
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
    for (const [id, log] of this.hitLogs) {
      pruneHits(log, now - log.windowMs);
      if (log.hits.length === 0) this.hitLogs.delete(id);
    }
    for (const [key, log] of this.budgets) {
      pruneBudget(log, now - log.windowMs);
      if (log.reservations.size === 0) this.budgets.delete(key);
    }
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
