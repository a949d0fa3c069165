/**
 * The counters store: rolling-window rate limits, token budgets and usage counters, shared by every
 * replica. Two implementations: Redis (one Lua script per call, hash-tagged keys, Redis Cluster safe)
 * and an embedded in-process store (one process only).
 *
 * Times are milliseconds. Implementations use their own clock (Redis: `TIME` inside the script, so
 * replicas with skewed clocks agree); `now` parameters exist only for the embedded store's tests.
 */

/** One rolling window of a rate limit: at most `limit` hits in any `windowMs` span. 0 = off. */
export interface WindowLimit {
  /** The contract's limit name, e.g. `ai_per_minute`. */
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The window that refused (the one with the longest wait when several are full). */
  limitName?: string;
  /** For the `RateLimit-*` headers: the tightest window after this hit. */
  limit: number;
  remaining: number;
  /** Ms until the tightest window frees a slot (0 if it has room). */
  resetMs: number;
  /** When refused: ms until a retry could be admitted. */
  retryAfterMs: number;
}

export interface BudgetDecision {
  allowed: boolean;
  /** Tokens reserved or settled in the rolling window after this call. */
  used: number;
  budget: number;
  /** When refused: ms until enough of the window expires for this reservation to fit. */
  retryAfterMs: number;
}

/** Counts of one AI request, from upstream `usage` (or estimated). */
export interface UsageRecord {
  userId: string;
  model: string;
  operation: string;
  promptTokens: number;
  completionTokens: number;
  /** Integer micro-dollars (1e-6 USD) so sums never drift. */
  costMicros: number;
  /** The request failed upstream (still counted as a request, and as an error). */
  error?: boolean;
  /** Event time; defaults to now. Decides the minute bucket. */
  timestampMs?: number;
}

export interface UsageCounters {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  requests: number;
  errors: number;
  costMicros: number;
}

export interface UsageSnapshot {
  totals: UsageCounters;
  lastHour: UsageCounters;
  byOperation: Record<string, UsageCounters>;
  byModel: Record<string, UsageCounters>;
  /** When the first usage was recorded (ISO-8601), or undefined if none yet. */
  since?: string;
}

export interface TimeseriesPoint {
  /** Start of the step (ms since epoch). */
  startMs: number;
  counters: UsageCounters;
}

/** Gateway request statistics, aggregated per minute, cluster-wide (for the alert rules). */
export interface RequestStatsDelta {
  /** Minute bucket start (ms) the samples belong to. */
  minuteMs: number;
  requests: number;
  status4xx: number;
  status5xx: number;
  /** Counts per latency bucket index (see `LATENCY_BUCKETS_S`). */
  latencyBuckets: number[];
}

export interface RequestStats {
  windowS: number;
  requests: number;
  status4xx: number;
  status5xx: number;
  latencyBuckets: number[];
}

export type StoreKind = 'redis' | 'embedded';

export interface CountersStore {
  readonly kind: StoreKind;

  /**
   * Checks every window and, only when all admit, records the hit in all of them: one atomic step
   * (one round trip). A refused hit is recorded nowhere. Windows with `limit` 0 are skipped.
   */
  hit(key: string, windows: WindowLimit[]): Promise<RateLimitDecision>;

  /**
   * Reserves `tokens` against `key`'s rolling budget (`budget` tokens per `windowMs`) under
   * `reservationId`; refused (nothing recorded) when it would exceed the budget.
   */
  reserveBudget(
    key: string,
    reservationId: string,
    tokens: number,
    budget: number,
    windowMs: number,
  ): Promise<BudgetDecision>;

  /** Replaces a reservation's amount by the real usage (0 to release it). Unknown ids are ignored. */
  settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void>;

  /** Adds one request's usage to the totals, the user, the model, the operation and the minute bucket. */
  recordUsage(record: UsageRecord): Promise<void>;

  /** Cluster-wide usage (all users). */
  usage(): Promise<UsageSnapshot>;

  /** One user's usage, same counters. */
  userUsage(userId: string): Promise<UsageSnapshot>;

  /** Tokens in the rolling last hour, cluster-wide (cheap: for the gauge and alert_triggered). */
  lastHourTokens(): Promise<number>;

  /** Per-step counters over the last `windowMs`, oldest first; steps are multiples of a minute. */
  timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]>;

  /** Adds gateway request stats for one minute (called about once a second per replica). */
  addRequestStats(delta: RequestStatsDelta): Promise<void>;

  /** Gateway request stats over the last `windowS` seconds, all replicas. */
  requestStats(windowS: number): Promise<RequestStats>;

  /** Round-trip check; rejects when the store is unreachable. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
