import {
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type ObservableGauge,
  type UpDownCounter,
  ValueType,
} from '@opentelemetry/api';

/** Seconds buckets for HTTP server durations (the HTTP semconv advice). */
export const HTTP_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** `gen_ai.client.token.usage` buckets from the GenAI semantic conventions. */
export const GENAI_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/** `gen_ai.client.operation.duration` buckets (seconds) from the GenAI semantic conventions. */
export const GENAI_DURATION_BUCKETS_S = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** The meter every FlashCase instrument belongs to. */
export const METER_NAME = '@flashcase/telemetry';

/** A value read at collection time (store state, cluster-wide counts). */
export type GaugeSource = () => number | undefined;

/**
 * Every metric instrument of the contract (section 8), created once per service. Observable
 * gauges read their value from a source the service sets with `set*Source` (undefined = not
 * reported this collection).
 */
export interface Instruments {
  httpServerDuration: Histogram;
  httpServerActiveRequests: UpDownCounter;
  genAiTokenUsage: Histogram;
  genAiOperationDuration: Histogram;
  aiTokens: Counter;
  aiRequests: Counter;
  /** `flashcase.ai.cost` (USD) by model, operation and `source` (billed, priced, estimated). */
  aiCost: Counter;
  /** `flashcase.ai.tokens.detail`: reasoning and cached prompt tokens (subsets of completion and prompt). */
  aiTokensDetail: Counter;
  /** `gen_ai.client.operation.time_to_first_chunk` (s), streams only. */
  genAiTimeToFirstChunk: Histogram;
  /** `flashcase.ai.pricing_check` (USD) by model and `side` (billed, priced): calls the provider billed. */
  aiPricingCheck: Counter;
  /** `flashcase.ai.pricing_check.calls`: calls the provider billed, by model. */
  aiPricingCheckCalls: Counter;
  /** `flashcase.ai.usage.invalid`: upstream usage objects that did not add up, by model and `reason`. */
  aiUsageInvalid: Counter;
  /** `flashcase.ai.calls.recovered`: in-flight calls of a dead replica counted by this one, by model. */
  aiCallsRecovered: Counter;
  rateLimitRejections: Counter;
  /**
   * `flashcase.ai.concurrency.rejections{limit}`: calls answered 503 at a concurrency limit, `limit`
   * one of `upstream_connections` (AI_UPSTREAM_MAX_CONNECTIONS), `proxy_connections`
   * (AI_PROXY_MAX_CONNECTIONS, counted by the gateway) and `streams` (AI_MAX_CONCURRENT_STREAMS).
   */
  aiConcurrencyRejections: Counter;
  /** `flashcase.ai.streams.active`: streams open on this ai-proxy replica (what an autoscaler reads). */
  aiStreamsActive: UpDownCounter;
  /** `flashcase.budget.rejections{budget}`: calls a spend or token budget refused. */
  budgetRejections: Counter;
  alertNotifications: Counter;
  aiTokensLastHour: ObservableGauge;
  storeDegraded: ObservableGauge;
  alertsFiring: ObservableGauge;
  setTokensLastHourSource(source: GaugeSource): void;
  /**
   * `flashcase.budget.monthly.spent` / `.limit` (USD): the deployment's monthly spend budget, from
   * the store, for the Prometheus budget rules (ai-proxy reports them when a monthly budget is set).
   */
  setMonthlyBudgetSource(source: () => { spentUsd: number; limitUsd: number | null } | undefined): void;
  setStoreDegradedSource(source: GaugeSource): void;
  /** Firing alerts per (alertname, severity); called at each collection. */
  setAlertsFiringSource(source: () => Array<{ alertname: string; severity: string; value: number }>): void;
}

/**
 * Creates the contract's instruments on `meter`. The default meter comes from the global
 * MeterProvider, so call this after {@link startTelemetry}: the metrics API has no proxy provider,
 * and instruments made earlier stay no-ops for ever.
 */
export function createInstruments(meter: Meter = metrics.getMeter(METER_NAME)): Instruments {
  let tokensLastHour: GaugeSource = () => undefined;
  let monthlyBudget: () => { spentUsd: number; limitUsd: number | null } | undefined = () => undefined;
  let storeDegraded: GaugeSource = () => undefined;
  let alertsFiring: () => Array<{ alertname: string; severity: string; value: number }> = () => [];

  const aiTokensLastHour = meter.createObservableGauge('flashcase.ai.tokens.last_hour', {
    description: 'Tokens used in the rolling last hour, cluster-wide (from the counters store)',
    unit: '{token}',
    valueType: ValueType.INT,
  });
  aiTokensLastHour.addCallback((result) => {
    const value = tokensLastHour();
    if (value !== undefined) result.observe(value);
  });

  const monthlySpent = meter.createObservableGauge('flashcase.budget.monthly.spent', {
    description: "The deployment's spend this calendar month (BUDGET_TIMEZONE), cluster-wide, from the store",
    unit: 'USD',
  });
  monthlySpent.addCallback((result) => {
    const value = monthlyBudget();
    if (value !== undefined) result.observe(value.spentUsd);
  });
  const monthlyLimit = meter.createObservableGauge('flashcase.budget.monthly.limit', {
    description: "The deployment's monthly spend budget (AI_BUDGET_USD_PER_MONTH), when one is set",
    unit: 'USD',
  });
  monthlyLimit.addCallback((result) => {
    const value = monthlyBudget();
    if (value?.limitUsd != null) result.observe(value.limitUsd);
  });

  const storeDegradedGauge = meter.createObservableGauge('flashcase.store.degraded', {
    description: '1 while the shared counters store (Redis) is unreachable and limits are per replica',
    valueType: ValueType.INT,
  });
  storeDegradedGauge.addCallback((result) => {
    const value = storeDegraded();
    if (value !== undefined) result.observe(value);
  });

  const alertsFiringGauge = meter.createObservableGauge('flashcase.alerts.firing', {
    description: 'Alerts currently firing, by alert name and severity',
    valueType: ValueType.INT,
  });
  alertsFiringGauge.addCallback((result) => {
    for (const { alertname, severity, value } of alertsFiring()) result.observe(value, { alertname, severity });
  });

  return {
    httpServerDuration: meter.createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests',
      unit: 's',
      advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS_S },
    }),
    httpServerActiveRequests: meter.createUpDownCounter('http.server.active_requests', {
      description: 'Number of active HTTP server requests',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    genAiTokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used',
      unit: '{token}',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: GENAI_TOKEN_BUCKETS },
    }),
    genAiOperationDuration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'GenAI operation duration',
      unit: 's',
      advice: { explicitBucketBoundaries: GENAI_DURATION_BUCKETS_S },
    }),
    aiTokens: meter.createCounter('flashcase.ai.tokens', {
      description: 'Tokens counted from upstream usage (or estimated), by type, model and operation',
      unit: '{token}',
      valueType: ValueType.INT,
    }),
    aiRequests: meter.createCounter('flashcase.ai.requests', {
      description: 'AI requests sent upstream, by operation, model and outcome',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    aiCost: meter.createCounter('flashcase.ai.cost', {
      description: 'AI cost in US dollars, by model, operation and source (billed, priced, estimated)',
      unit: 'USD',
    }),
    aiTokensDetail: meter.createCounter('flashcase.ai.tokens.detail', {
      description:
        'Reasoning tokens (part of completion) and cached prompt tokens (part of prompt), by type, model and operation',
      unit: '{token}',
      valueType: ValueType.INT,
    }),
    genAiTimeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      description: 'Time from the request to the first chunk of a streamed answer',
      unit: 's',
      advice: { explicitBucketBoundaries: GENAI_DURATION_BUCKETS_S },
    }),
    aiPricingCheck: meter.createCounter('flashcase.ai.pricing_check', {
      description:
        'Over calls the provider billed: the bill (side=billed) and the pricing table price (side=priced), USD',
      unit: 'USD',
    }),
    aiPricingCheckCalls: meter.createCounter('flashcase.ai.pricing_check.calls', {
      description: 'Calls whose usage carried the provider billed cost, by model',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    aiUsageInvalid: meter.createCounter('flashcase.ai.usage.invalid', {
      description: 'Upstream usage objects that did not add up (recorded with what was known), by model and reason',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    aiCallsRecovered: meter.createCounter('flashcase.ai.calls.recovered', {
      description: 'In-flight calls of a dead replica counted (estimated) by this replica, by model',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    rateLimitRejections: meter.createCounter('flashcase.ratelimit.rejections', {
      description: 'Requests refused by a rate limit or token budget, by limit',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    aiConcurrencyRejections: meter.createCounter('flashcase.ai.concurrency.rejections', {
      description: 'AI calls answered 503 because a concurrency limit was reached, by limit',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    aiStreamsActive: meter.createUpDownCounter('flashcase.ai.streams.active', {
      description: 'AI streams open on this replica (admitted and not yet ended)',
      unit: '{stream}',
      valueType: ValueType.INT,
    }),
    budgetRejections: meter.createCounter('flashcase.budget.rejections', {
      description: 'AI calls refused by a spend or token budget, by budget',
      unit: '{request}',
      valueType: ValueType.INT,
    }),
    alertNotifications: meter.createCounter('flashcase.alert.notifications', {
      description: 'Alert notifications sent, by channel and outcome',
      unit: '{notification}',
      valueType: ValueType.INT,
    }),
    aiTokensLastHour,
    storeDegraded: storeDegradedGauge,
    alertsFiring: alertsFiringGauge,
    setMonthlyBudgetSource(source) {
      monthlyBudget = source;
    },
    setTokensLastHourSource(source) {
      tokensLastHour = source;
    },
    setStoreDegradedSource(source) {
      storeDegraded = source;
    },
    setAlertsFiringSource(source) {
      alertsFiring = source;
    },
  };
}
