/** The three deployables that share this configuration. */
export type ServiceName = 'gateway' | 'ai-proxy' | 'alerting';

/**
 * `development` (coloured human logs), `production` (JSON logs, strict start-up checks) or `test`.
 */
export type Environment = 'development' | 'production' | 'test';

/** winston's npm levels that the contract allows, most to least severe. */
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'debug';

/** `xai`: any OpenAI-compatible API; `simulated`: the built-in deterministic provider. */
export type AIProvider = 'xai' | 'simulated';

/**
 * `open`: keep serving on per-replica limits while Redis is away; `closed`: refuse AI calls.
 */
export type RedisFailureMode = 'open' | 'closed';

/**
 * Start-up configuration of one service, parsed once from the environment by `loadConfig`.
 *
 * Every level is frozen: assigning to any property throws in strict mode. Optional properties
 * are `undefined` when their variable is unset (or set to an empty string). Base URLs
 * (`urls.*`, `ai.baseUrl`) carry no trailing slash, so callers append paths that start with `/`.
 */
export interface Config {
  readonly service: ServiceName;
  /** `ENVIRONMENT`. */
  readonly environment: Environment;
  /** `LOG_LEVEL`. */
  readonly logLevel: LogLevel;
  /** `LOG_SAMPLE_RATE`: fraction (0..1) of routine request logs kept. */
  readonly logSampleRate: number;
  /** `LOG_AI_CONTENT`: whether prompt and completion text may be logged. */
  readonly logAIContent: boolean;
  /** `HOST`: the address both listeners bind. */
  readonly host: string;
  /** `PORT`: the HTTP listener; 0 asks the OS for a free port. */
  readonly port: number;
  /** `METRICS_PORT`: the Prometheus `/metrics` listener; 0 = off. */
  readonly metricsPort: number;
  /** `FLASHCASE_VERSION`: reported as `service.version` and in `/api/v1/health`. */
  readonly version: string;
  /**
   * `SHUTDOWN_GRACE_MS` (default 25 000): how long after SIGTERM (or SIGINT) in-flight requests and
   * streams may run before every connection is cut; ai-proxy ends its streams still open a little
   * before (in-band error event, usage estimated). An orchestrator's own grace (Kubernetes
   * `terminationGracePeriodSeconds`) must exceed it plus the final flush.
   */
  readonly shutdownGraceMs: number;
  readonly urls: {
    /** `AI_PROXY_URL`. */
    readonly aiProxy: string;
    /** `ALERTING_URL`. */
    readonly alerting: string;
    /** `GATEWAY_URL`. */
    readonly gateway: string;
    /** `BACKEND_URL`: where the gateway forwards other `/api/v1/*` routes; unset = 404. */
    readonly backend?: string;
  };
  readonly redis: {
    /** `REDIS_URL`; unset (and no cluster nodes) = the embedded in-process store. */
    readonly url?: string;
    /** `REDIS_CLUSTER_NODES` as `host:port` strings; empty when unset. */
    readonly clusterNodes: readonly string[];
    /** `REDIS_KEY_PREFIX`: every key the project writes starts with it. */
    readonly keyPrefix: string;
    /** `REDIS_FAILURE_MODE`. */
    readonly failureMode: RedisFailureMode;
    /** `REDIS_STORE_TIMEOUT_MS`: how long a store call may take before the store is treated as away. */
    readonly storeTimeoutMs: number;
  };
  readonly tokens: {
    /** `TOKEN_USAGE_TRACKING_ENABLED`: false = no counters are written (limits still hold). */
    readonly trackingEnabled: boolean;
    /** `TOKEN_USAGE_ALERT_THRESHOLD`: tokens per rolling hour for the critical alert. */
    readonly alertThreshold: number;
    /** `TOKEN_USAGE_WARNING_THRESHOLD`: tokens per rolling hour for the warning alert. */
    readonly warningThreshold: number;
  };
  readonly ai: {
    /** `AI_PROVIDER`. */
    readonly provider: AIProvider;
    /** False only for provider `xai` without `XAI_API_KEY`: AI routes answer 503 `ai_not_configured`. */
    readonly configured: boolean;
    /** `XAI_API_KEY` (secret). */
    readonly apiKey?: string;
    /** `XAI_BASE_URL`. */
    readonly baseUrl: string;
    /** `AI_MODEL`: the default model. */
    readonly model: string;
    /** `AI_DEFAULT_TEMPERATURE` (0..2). */
    readonly defaultTemperature: number;
    /** `AI_MAX_TOKENS_CHAT` / `_REWRITE` / `_AUTOCOMPLETE`: caps a larger client value is clamped to. */
    readonly maxTokens: {
      readonly chat: number;
      readonly rewrite: number;
      readonly autocomplete: number;
    };
    /** `AI_MAX_N` (default 4): the largest `n` a Chat Completions request may ask; above it 400. */
    readonly maxN: number;
    /**
     * `AI_UPSTREAM_TIMEOUT_MS` (default 60 000): the longest wait for a non-streaming answer, and for
     * a stream's first byte.
     */
    readonly upstreamTimeoutMs: number;
    /**
     * `AI_STREAM_IDLE_TIMEOUT_MS` (default 60 000): a stream whose upstream then sends nothing this
     * long ends with an in-band error event (usage estimated).
     */
    readonly streamIdleTimeoutMs: number;
    /**
     * `AI_UPSTREAM_MAX_CONNECTIONS` (default 0 = unbounded): connections per replica from ai-proxy
     * to the LLM API; a call that finds them all busy is answered 503 with `Retry-After` at once.
     */
    readonly upstreamMaxConnections: number;
    /**
     * `AI_PROXY_MAX_CONNECTIONS` (default 0 = unbounded): connections per gateway replica to
     * ai-proxy; a call that finds them all busy is answered 503 with `Retry-After` at once.
     */
    readonly proxyMaxConnections: number;
    /**
     * `AI_MAX_CONCURRENT_STREAMS` (default 0 = unbounded): open streams per ai-proxy replica; a
     * stream above it is answered 503 with `Retry-After` before any upstream call or usage.
     */
    readonly maxConcurrentStreams: number;
    /**
     * `AI_INFLIGHT_STALE_MS` (default 15 000): an ai-proxy replica that has not heartbeaten this long
     * is dead, and a surviving one counts its in-flight calls (estimated).
     */
    readonly inflightStaleMs: number;
    /** `AI_SIMULATED_LATENCY_MS` (ours, default 300): the simulated provider's time to first token. */
    readonly simulatedLatencyMs: number;
    /** `PRICING_FILE`; unset = the built-in pricing table. The path is not checked here. */
    readonly pricingFile?: string;
    /** `AI_TOKEN_BUDGET_PER_USER_PER_HOUR`; 0 = off. */
    readonly tokenBudgetPerUserPerHour: number;
  };
  /** Spend budgets, in ticks (1e-10 USD); 0 = that budget is off (a per-user override still applies). */
  readonly budgets: {
    /** `AI_BUDGET_USD_PER_USER_PER_DAY`: each user, per calendar day in `timeZone`. */
    readonly userDailyTicks: number;
    /** `AI_BUDGET_USD_PER_USER_PER_MONTH`: each user, per calendar month. */
    readonly userMonthlyTicks: number;
    /** `AI_BUDGET_USD_PER_MONTH`: the whole deployment, per calendar month. */
    readonly monthlyTicks: number;
    /** `AI_BUDGET_SOFT_RATIO` (0..1, default 0.8): the share that raises the warning alerts. */
    readonly softRatio: number;
    /** `BUDGET_TIMEZONE` (IANA, default UTC): where calendar days and months begin. */
    readonly timeZone: string;
  };
  /** `RATE_LIMIT_*`, per user over rolling windows; 0 = that limit is off. */
  readonly rateLimits: {
    readonly aiPerMinute: number;
    readonly aiPerHour: number;
    readonly generalPerMinute: number;
    readonly generalPerHour: number;
  };
  /** Whether `COURTLISTENER_API_KEY` is set (the key itself is not kept). */
  readonly courtlistenerConfigured: boolean;
  readonly auth: {
    /** `JWT_SECRET` (secret), or the fixed dev-only secret when `usingDevSecret`. */
    readonly jwtSecret?: string;
    /** `JWT_JWKS_URL`. */
    readonly jwtJwksUrl?: string;
    /** True outside production when neither `JWT_SECRET` nor `JWT_JWKS_URL` is set. */
    readonly usingDevSecret: boolean;
  };
  /** `INTERNAL_TOKEN` (secret): expected in `x-internal-token` between services. */
  readonly internalToken?: string;
  readonly alerts: {
    /** `ALERT_EMAIL`: one address or a comma-separated list. */
    readonly email?: string;
    /** `ALERT_EMAIL_FROM`: `addr@host` or `Name <addr@host>`. */
    readonly emailFrom?: string;
    /** `SMTP_URL` (holds credentials). */
    readonly smtpUrl?: string;
    /** `SLACK_WEBHOOK_URL` (secret: the path is the credential). */
    readonly slackWebhookUrl?: string;
    /** `ALERT_WEBHOOK_URL` (treated as secret: it often carries a token). */
    readonly webhookUrl?: string;
    /** `ALERT_RULES_FILE`; unset = the built-in seed rules. The path is not checked here. */
    readonly rulesFile?: string;
    /** `ALERT_EVAL_INTERVAL_S`. */
    readonly evalIntervalS: number;
    /** `HEALTH_CHECK_INTERVAL_S`. */
    readonly healthCheckIntervalS: number;
    /** `ALERT_GROUP_WAIT_S`. */
    readonly groupWaitS: number;
    /** `ALERT_GROUP_INTERVAL_S`. */
    readonly groupIntervalS: number;
    /** `ALERT_REPEAT_INTERVAL_S`. */
    readonly repeatIntervalS: number;
    /**
     * `USAGE_DIGEST_HOUR` (default 8): the local hour (in `budgets.timeZone`) at which alerting sends
     * yesterday's usage digest; null = off (`off`, or set but empty).
     */
    readonly usageDigestHour: number | null;
  };
}
