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

/**
 * The outcome of one `hit`. When no window applies (every limit 0): allowed, `limit` 0, `remaining` 0,
 * `resetMs` 0 (send no `RateLimit-*` headers then).
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Set only when refused: the window that refused (the one with the longest wait when several are full). */
  limitName?: string;
  /**
   * For the `RateLimit-*` headers: the tightest window after this hit (fewest remaining; the first
   * such window on a tie); when refused, the refusing window.
   */
  limit: number;
  remaining: number;
  /** Ms until the tightest window frees a slot (0 if it has room). */
  resetMs: number;
  /** When refused: ms until a retry could be admitted. */
  retryAfterMs: number;
}

/**
 * The outcome of one `reserveBudget`. Budget 0 is off: allowed, `used` 0, nothing recorded. A
 * reservation larger than the whole budget is refused with `retryAfterMs` = the window.
 */
export interface BudgetDecision {
  allowed: boolean;
  /** Tokens reserved or settled in the rolling window after this call. */
  used: number;
  budget: number;
  /** When refused: ms until enough of the window expires for this reservation to fit. */
  retryAfterMs: number;
}

/**
 * The provider's bill for one call next to what the pricing table says for the same call: the
 * pricing check (`pricing_check` of the usage JSON, the PricingTableDrift alert).
 */
export interface BilledCost {
  /** The provider's billed cost (xAI: `cost_in_usd_ticks`), integer ticks. */
  billedTicks: number;
  /** What the pricing table would have charged for the same usage, integer ticks. */
  pricedTicks: number;
}

/**
 * Counts of one AI request, from upstream `usage` (or estimated). Money is in integer ticks
 * (1 USD = 1e10 ticks, xAI's billing unit, finer than a nano-dollar), so sums never drift.
 */
/**
 * The calendar periods a call counts in for the reports (`periodUsers`): labels the caller makes
 * in its own time zone, `h<yyyy-MM-ddTHH>`, `d<yyyy-MM-dd>` and `m<yyyy-MM>` (see `periodLabels`).
 */
export interface UsagePeriods {
  hour: string;
  day: string;
  month: string;
}

/** One user's usage in a period (`periodUsers`, `scanPeriodUsers`). */
export interface PeriodUser {
  userId: string;
  counters: UsageCounters;
}

/** A period's totals (also by operation and model, and the billed share) and its active users. */
export interface PeriodSummary {
  counters: UsageCounters;
  activeUsers: number;
  byOperation: Record<string, UsageCounters>;
  byModel: Record<string, UsageCounters>;
  /** The calls of the period the provider billed: the bill and what the table says. */
  pricingCheck: PricingCheck;
}

export interface UsageRecord {
  userId: string;
  model: string;
  operation: string;
  /** Prompt tokens, cached ones included. */
  promptTokens: number;
  /** Completion tokens, reasoning ones included (both are billed as output). */
  completionTokens: number;
  /** Of `completionTokens`, the reasoning tokens. Default 0. */
  reasoningTokens?: number;
  /** Of `promptTokens`, the ones read from the provider's prompt cache. Default 0. */
  cachedPromptTokens?: number;
  /** The call's cost (the bill when the provider sent one, else the table's price), integer ticks. */
  costTicks: number;
  /** Set when the provider billed the call: the bill and the table's price, for the pricing check. */
  billed?: BilledCost | undefined;
  /** The request failed upstream (still counted as a request, and as an error). */
  error?: boolean;
  /** Event time; defaults to now. Decides the minute bucket. */
  timestampMs?: number;
  /**
   * The in-flight call this record settles (see `CountersStore.beginCall`): the record clears it,
   * and when a surviving replica already counted the call as orphaned, the record corrects that
   * estimate to these figures instead of counting the call twice.
   */
  callId?: string | undefined;
  /** The periods the call counts in for the reports; none = not in the reports. */
  periods?: UsagePeriods | undefined;
}

/**
 * A call under way, written before the upstream is asked (`CountersStore.beginCall`) and cleared by
 * its usage record. When its replica dies first, a surviving replica counts `estimate` for it.
 */
export interface InflightCall {
  /** Unique per call (a UUID). */
  callId: string;
  userId: string;
  model: string;
  operation: string;
  /** What to count when the call is orphaned: worst-case tokens and their price. */
  estimate: { promptTokens: number; completionTokens: number; costTicks: number };
  /** The request it serves (`x-request-id`), kept for the orphan's usage record. */
  requestId?: string | undefined;
  /** Its trace (32 hex digits), kept for the orphan's usage record. */
  traceId?: string | undefined;
  /** The report periods an orphan's estimate counts in (those of its start). */
  periods?: UsagePeriods | undefined;
}

/** An orphaned call a sweep counted: the call as begun, and when its estimate was counted. */
export interface RecoveredCall extends InflightCall {
  countedAtMs: number;
  /** The writer (replica) that began the call and stopped heartbeating. */
  writerId: string;
}

/** Options of `CountersStore.recoverOrphanedCalls`. */
export interface RecoverOptions {
  /** A replica whose last heartbeat is older than this is dead, and its in-flight calls orphaned. */
  staleAfterMs: number;
  /** Most calls recovered in one sweep. Default 1000. */
  limit?: number;
}

/**
 * Usage counts; `totalTokens` = prompt + completion; reasoning and cached prompt tokens are subsets
 * of completion and prompt; cost in integer ticks (1e-10 USD).
 */
export interface UsageCounters {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  reasoningTokens: number;
  cachedPromptTokens: number;
  requests: number;
  errors: number;
  costTicks: number;
}

/** Over the calls the provider billed: how many, the bill, and the table's price for them (ticks). */
export interface PricingCheck {
  calls: number;
  billedTicks: number;
  pricedTicks: number;
}

/**
 * Usage as the `/usage` endpoints report it. `lastHour` sums 60 minute buckets (the current partial
 * minute and the 59 before it); `byOperation` / `byModel` have one entry per name ever recorded.
 */
export interface UsageSnapshot {
  totals: UsageCounters;
  lastHour: UsageCounters;
  byOperation: Record<string, UsageCounters>;
  byModel: Record<string, UsageCounters>;
  /** Cluster-wide only (zeros in a user's snapshot): the pricing check since counting began. */
  pricingCheck: PricingCheck;
  /** The same over the last 24 hour buckets (the current partial hour and the 23 before it). */
  pricingCheckLast24h: PricingCheck;
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
  /**
   * Responses refused by a rate limit (429: the gateway's general limits and ai-proxy's AI limits and
   * token budget, which every client sees through the gateway). Counted in `status4xx` too; absent = 0.
   */
  rateLimited?: number;
  /** Counts per latency bucket index (see `LATENCY_BUCKETS_S`). */
  latencyBuckets: number[];
}

/**
 * Gateway request stats summed over `ceil(windowS / 60)` minute buckets (the current partial minute
 * included); `latencyBuckets` has at least one count per `LATENCY_BUCKETS_S` entry.
 */
export interface RequestStats {
  windowS: number;
  requests: number;
  status4xx: number;
  status5xx: number;
  /** 429 answers (see `RequestStatsDelta.rateLimited`). */
  rateLimited: number;
  latencyBuckets: number[];
}

/** Which store backs the counters: `redis` (shared by replicas) or `embedded` (this process only). */
export type StoreKind = 'redis' | 'embedded';

/**
 * The counters store every service uses. Counts (tokens, costs, limits, budgets) must be
 * non-negative integers and durations positive integers: anything else is a RangeError, never
 * silently rounded.
 */
export interface CountersStore {
  readonly kind: StoreKind;

  /**
   * Checks every window and, only when all admit, records the hit in all of them: one atomic step
   * (one round trip). A refused hit is recorded nowhere. Windows with `limit` 0 are skipped.
   *
   * With `begin`, an admitted hit also begins that call (see `beginCall`), in the same round trip:
   * inside the same script where the store can (standalone Redis), else alongside it. A refused
   * hit leaves no in-flight call behind.
   */
  hit(key: string, windows: WindowLimit[], begin?: InflightCall): Promise<RateLimitDecision>;

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

  /**
   * Adds one request's usage to the totals, the user, the model, the operation and the minute
   * bucket. With `callId`, it also clears that in-flight call (or corrects its orphan estimate).
   */
  recordUsage(record: UsageRecord): Promise<void>;

  /**
   * Notes a call as under way before the upstream is asked, so that a surviving replica counts it
   * if this one dies before its usage is written (Redis; a no-op in the embedded store, which dies
   * with its process). Resolves once written (or buffered while degraded).
   */
  beginCall(call: InflightCall): Promise<void>;

  /** Drops an in-flight call that never reached the upstream (refused by a limit). Unknown ids are ignored. */
  cancelCall(callId: string): Promise<void>;

  /**
   * Heartbeats this replica and counts the in-flight calls of replicas whose heartbeat is older
   * than `staleAfterMs` as estimated usage, each exactly once whichever replicas sweep at the same
   * time. Resolves to the calls recovered (none in the embedded store).
   */
  recoverOrphanedCalls(options: RecoverOptions): Promise<RecoveredCall[]>;

  /** Cluster-wide usage (all users). */
  usage(): Promise<UsageSnapshot>;

  /** One user's usage, same counters. */
  userUsage(userId: string): Promise<UsageSnapshot>;

  /** Tokens in the rolling last hour, cluster-wide (cheap: for the gauge and alert_triggered). */
  lastHourTokens(): Promise<number>;

  /**
   * Per-step counters over the last `windowMs`, oldest first; steps are multiples of a minute
   * (`stepMs` is rounded up to one), aligned to multiples of the step since the epoch, the last one
   * containing now; every step is present (zeros when empty). `windowMs` is capped at 25 h.
   */
  timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]>;

  /** Adds gateway request stats for one minute (called about once a second per replica). */
  addRequestStats(delta: RequestStatsDelta): Promise<void>;

  /** Gateway request stats over the last `windowS` seconds, all replicas. */
  requestStats(windowS: number): Promise<RequestStats>;

  /**
   * The period's users ranked by cost or total tokens, highest first, at most `limit` (1..1000),
   * each with its counters for the period (`period`: a `UsagePeriods` label).
   */
  periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]>;

  /**
   * Every user of the period, a page at a time: start with cursor '0', go on while the returned
   * cursor is not '0'. A page holds about `count` users, in no order.
   */
  scanPeriodUsers(period: string, cursor: string, count: number): Promise<{ cursor: string; users: PeriodUser[] }>;

  /** One user's counters in the period (zeros when the user made no call). */
  periodUser(period: string, userId: string): Promise<UsageCounters>;

  /**
   * The period's active users and totals: a day's by operation and model too; an hour keeps no
   * totals (zeros), only its users.
   */
  periodSummary(period: string): Promise<PeriodSummary>;

  /** Round-trip check; rejects when the store is unreachable. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
