/** `critical` goes to Slack, email and the webhook; `warning` to Slack and the webhook. */
export type Severity = 'critical' | 'warning';

/** Every signal a rule can watch; each is read through a service's own HTTP API. */
export const SIGNALS = [
  /** ai-proxy `GET /api/v1/ai/usage` -> `last_hour.total_tokens` (cluster-wide rolling hour). */
  'ai_tokens_last_hour',
  /**
   * ai-proxy `GET /api/v1/ai/usage` (the same call) -> `|pricing_check.last_24h.drift_ratio|`: how far
   * the pricing table is off the provider's bill over the last 24 h (0.05 = 5 %, either way), over
   * the calls whose usage carried the billed cost; `pricing_check.last_24h.calls_billed` is the traffic
   * that `minRequests` gates.
   */
  'ai_pricing_drift',
  /** gateway `GET /api/v1/internal/stats?window_s=` -> `error_rate` (5xx / requests). */
  'gateway_error_rate',
  /** gateway `GET /api/v1/internal/stats?window_s=` -> `latency_p95_s`. */
  'gateway_latency_p95_s',
  /** Consecutive failed `GET /api/v1/health` checks of each watched service. */
  'service_health_failures',
  /** `checks.memory.utilization` of each watched service's `GET /api/v1/health` (0..1). */
  'service_memory_utilization',
  /**
   * ai-proxy `GET /api/v1/ai/usage` -> `users_near_budget[].used_ratio`: each user at
   * `AI_BUDGET_SOFT_RATIO` or more of today's or this month's spend budget, one alert instance per
   * user and budget (labels `user`, `budget`). A user with an alert who left the list is read
   * through `GET /api/v1/ai/budgets/users/:id`, so the resolve threshold holds for them too.
   */
  'ai_user_budget_ratio',
  /**
   * ai-proxy `GET /api/v1/ai/usage` -> `budgets[monthly_usd]`: `spent_usd / limit_usd` of the
   * deployment's calendar month; no value (never fires, lets a firing alert resolve) without a limit.
   */
  'ai_monthly_budget_ratio',
] as const;

export type SignalName = (typeof SIGNALS)[number];

/** Signals whose rules get one alert instance per watched service (label `service`). */
export const PER_SERVICE_SIGNALS: ReadonlySet<SignalName> = new Set([
  'service_health_failures',
  'service_memory_utilization',
]);

/** Signals read from the gateway's request stats, which need a window and a minimum of traffic. */
export const GATEWAY_SIGNALS: ReadonlySet<SignalName> = new Set(['gateway_error_rate', 'gateway_latency_p95_s']);

/** Signals read from ai-proxy's `GET /api/v1/ai/usage`: one call per evaluation serves them all. */
export const AI_USAGE_SIGNALS: ReadonlySet<SignalName> = new Set([
  'ai_tokens_last_hour',
  'ai_pricing_drift',
  'ai_user_budget_ratio',
  'ai_monthly_budget_ratio',
]);

/**
 * Signals whose rules get one alert instance per user (labels `user` and `budget`). They never
 * reach a metric label: the firing gauge counts per alert name.
 */
export const PER_USER_SIGNALS: ReadonlySet<SignalName> = new Set(['ai_user_budget_ratio']);

/**
 * Signals whose rules need a minimum of traffic (`minRequests`): the gateway's requests in the
 * window, ai-proxy's billed calls in the last 24 h.
 */
export const TRAFFIC_GATED_SIGNALS: ReadonlySet<SignalName> = new Set([...GATEWAY_SIGNALS, 'ai_pricing_drift']);

/** The services alerting can watch. `alerting` itself is measured in-process (memory only). */
export type WatchedService = 'gateway' | 'ai-proxy' | 'alerting';

/**
 * One alert rule. The alert fires when the signal is above `threshold` (or at it, with `>=`) for
 * `forS` seconds, and resolves only once the signal is at or below `resolveThreshold`
 * (hysteresis: between the two, a firing alert stays firing and a resolved one stays resolved).
 */
export interface AlertRule {
  readonly name: string;
  readonly severity: Severity;
  readonly signal: SignalName;
  readonly comparison: '>' | '>=';
  readonly threshold: number;
  /** Strictly below `threshold`. */
  readonly resolveThreshold: number;
  /** How long the condition must hold before pending becomes firing (0 = at once). */
  readonly forS: number;
  /** Gateway signals: the stats window in seconds (60..86400). */
  readonly windowS: number;
  /**
   * Traffic-gated signals ({@link TRAFFIC_GATED_SIGNALS}): fewer requests in the gateway's window, or
   * fewer billed calls in ai-proxy's last 24 h, than this never fire (and let a firing alert resolve).
   */
  readonly minRequests: number;
  /** Per-service signals: the services watched. */
  readonly services: readonly WatchedService[];
  readonly labels: Readonly<Record<string, string>>;
  /** Template: `{{value}}`, `{{threshold}}`, `{{resolve_threshold}}` and `{{labels.<name>}}` are filled in. */
  readonly summary: string;
  readonly runbookUrl: string;
}
