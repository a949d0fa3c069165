import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors';
import type { AIProvider, Config, ServiceName } from './types';
import {
  boolean,
  clusterNodes,
  decimal,
  emailList,
  host,
  hourOrOff,
  httpUrl,
  keyPrefix,
  mailbox,
  nonNegativeInteger,
  oneOf,
  optional,
  port,
  positiveInteger,
  redisUrl,
  smtpUrl,
  text,
  timerMs,
  timeZone,
  usdTicks,
  version,
  withDefault,
} from './variables';

const SERVICES: readonly ServiceName[] = ['gateway', 'ai-proxy', 'alerting'];

const DEFAULT_PORTS: Readonly<Record<ServiceName, { readonly port: number; readonly metricsPort: number }>> = {
  gateway: { port: 8000, metricsPort: 9464 },
  'ai-proxy': { port: 8001, metricsPort: 9465 },
  alerting: { port: 8002, metricsPort: 9466 },
};

/**
 * Signs and verifies development tokens when neither JWT_SECRET nor JWT_JWKS_URL is set. Public by
 * design (it is in the source), so production never uses it.
 */
const DEV_JWT_SECRET = 'flashcase-development-only-jwt-secret-never-use-in-production';

/** HS256 keys shorter than the hash output (256 bits) weaken the signature (RFC 7518, 3.2). */
const MIN_PRODUCTION_JWT_SECRET_BYTES = 32;

/** The largest spend budget: its ticks (1e-10 USD) stay exact integers in Lua's doubles. */
const MAX_BUDGET_USD = 900_000;

// The contract's variables, in the order they are reported. Defaults that depend on the service
// or on another variable (ports, AI_PROVIDER, TOKEN_USAGE_WARNING_THRESHOLD) are resolved after.
/** The OTLP transports of the spec's `OTEL_EXPORTER_OTLP_PROTOCOL`; `http/protobuf` is its default. */
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

const environmentSchema = z.object({
  ENVIRONMENT: withDefault(oneOf(['development', 'production', 'test']), 'development'),
  LOG_LEVEL: withDefault(oneOf(['error', 'warn', 'info', 'http', 'debug']), 'info'),
  LOG_SAMPLE_RATE: withDefault(decimal(0, 1), 1),
  LOG_AI_CONTENT: withDefault(boolean(), false),
  HOST: withDefault(host(), '127.0.0.1'),
  PORT: optional(port()),
  METRICS_PORT: optional(port()),
  FLASHCASE_VERSION: withDefault(version(), '0.1.0'),
  SHUTDOWN_GRACE_MS: withDefault(timerMs(), 25_000),
  AI_PROXY_URL: withDefault(httpUrl({ base: true }), 'http://127.0.0.1:8001'),
  ALERTING_URL: withDefault(httpUrl({ base: true }), 'http://127.0.0.1:8002'),
  GATEWAY_URL: withDefault(httpUrl({ base: true }), 'http://127.0.0.1:8000'),
  BACKEND_URL: optional(httpUrl({ base: true })),
  REDIS_URL: optional(redisUrl()),
  REDIS_CLUSTER_NODES: withDefault(clusterNodes(), []),
  REDIS_KEY_PREFIX: withDefault(keyPrefix(), 'flashcase:'),
  REDIS_FAILURE_MODE: withDefault(oneOf(['open', 'closed']), 'open'),
  REDIS_STORE_TIMEOUT_MS: withDefault(positiveInteger(), 500),
  TOKEN_USAGE_TRACKING_ENABLED: withDefault(boolean(), true),
  TOKEN_USAGE_ALERT_THRESHOLD: withDefault(positiveInteger(), 100_000),
  TOKEN_USAGE_WARNING_THRESHOLD: optional(nonNegativeInteger()),
  AI_PROVIDER: optional(oneOf(['xai', 'simulated'])),
  XAI_API_KEY: optional(text()),
  XAI_BASE_URL: withDefault(httpUrl({ base: true }), 'https://api.x.ai/v1'),
  AI_MODEL: withDefault(text(), 'grok-4-fast'),
  AI_DEFAULT_TEMPERATURE: withDefault(decimal(0, 2), 0.7),
  AI_MAX_TOKENS_CHAT: withDefault(positiveInteger(), 2000),
  AI_MAX_TOKENS_REWRITE: withDefault(positiveInteger(), 1000),
  AI_MAX_TOKENS_AUTOCOMPLETE: withDefault(positiveInteger(), 500),
  AI_MAX_N: withDefault(positiveInteger(), 4),
  AI_UPSTREAM_TIMEOUT_MS: withDefault(positiveInteger(), 60_000),
  AI_STREAM_IDLE_TIMEOUT_MS: withDefault(positiveInteger(), 60_000),
  AI_UPSTREAM_MAX_CONNECTIONS: withDefault(nonNegativeInteger(), 0),
  AI_PROXY_MAX_CONNECTIONS: withDefault(nonNegativeInteger(), 0),
  AI_MAX_CONCURRENT_STREAMS: withDefault(nonNegativeInteger(), 0),
  AI_INFLIGHT_STALE_MS: withDefault(positiveInteger(), 15_000),
  AI_SIMULATED_LATENCY_MS: withDefault(nonNegativeInteger(), 300),
  PRICING_FILE: optional(text()),
  RATE_LIMIT_AI_PER_MINUTE: withDefault(nonNegativeInteger(), 5),
  RATE_LIMIT_AI_PER_HOUR: withDefault(nonNegativeInteger(), 50),
  RATE_LIMIT_GENERAL_PER_MINUTE: withDefault(nonNegativeInteger(), 10),
  RATE_LIMIT_GENERAL_PER_HOUR: withDefault(nonNegativeInteger(), 100),
  COURTLISTENER_API_KEY: optional(text()),
  JWT_SECRET: optional(text()),
  JWT_JWKS_URL: optional(httpUrl()),
  INTERNAL_TOKEN: optional(text()),
  ALERT_EMAIL: optional(emailList()),
  ALERT_EMAIL_FROM: optional(mailbox()),
  SMTP_URL: optional(smtpUrl()),
  SLACK_WEBHOOK_URL: optional(httpUrl({ secret: true })),
  ALERT_WEBHOOK_URL: optional(httpUrl({ secret: true })),
  ALERT_RULES_FILE: optional(text()),
  ALERT_EVAL_INTERVAL_S: withDefault(positiveInteger(), 15),
  HEALTH_CHECK_INTERVAL_S: withDefault(positiveInteger(), 30),
  ALERT_GROUP_WAIT_S: withDefault(positiveInteger(), 30),
  ALERT_GROUP_INTERVAL_S: withDefault(positiveInteger(), 300),
  ALERT_REPEAT_INTERVAL_S: withDefault(positiveInteger(), 14_400),
  AI_TOKEN_BUDGET_PER_USER_PER_HOUR: withDefault(nonNegativeInteger(), 0),
  AI_BUDGET_USD_PER_USER_PER_DAY: withDefault(usdTicks(MAX_BUDGET_USD), 0),
  AI_BUDGET_USD_PER_USER_PER_MONTH: withDefault(usdTicks(MAX_BUDGET_USD), 0),
  AI_BUDGET_USD_PER_MONTH: withDefault(usdTicks(MAX_BUDGET_USD), 0),
  AI_BUDGET_SOFT_RATIO: withDefault(decimal(0, 1), 0.8),
  BUDGET_TIMEZONE: withDefault(timeZone(), 'UTC'),
  USAGE_DIGEST_HOUR: hourOrOff(8),
  // Read by @flashcase/telemetry (the OTLP exporters); checked here so a bad value stops start-up.
  OTEL_EXPORTER_OTLP_PROTOCOL: optional(oneOf(OTLP_PROTOCOLS)),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optional(oneOf(OTLP_PROTOCOLS)),
  OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: optional(oneOf(OTLP_PROTOCOLS)),
});

type ParsedEnvironment = z.output<typeof environmentSchema>;

/** Checks that involve more than one variable, or the service, run once every value parsed. */
function crossCheck(service: ServiceName, vars: ParsedEnvironment, ports: Pick<Config, 'port' | 'metricsPort'>) {
  const issues: ConfigIssue[] = [];
  const production = vars.ENVIRONMENT === 'production';

  if (ports.metricsPort !== 0 && ports.metricsPort === ports.port) {
    issues.push({
      variable: 'METRICS_PORT',
      message: `METRICS_PORT must differ from PORT (both are ${ports.port}); set it to 0 to turn /metrics off`,
    });
  }
  const warning = vars.TOKEN_USAGE_WARNING_THRESHOLD;
  if (warning !== undefined && warning > vars.TOKEN_USAGE_ALERT_THRESHOLD) {
    issues.push({
      variable: 'TOKEN_USAGE_WARNING_THRESHOLD',
      message: `TOKEN_USAGE_WARNING_THRESHOLD must not exceed TOKEN_USAGE_ALERT_THRESHOLD (${vars.TOKEN_USAGE_ALERT_THRESHOLD}), got "${warning}"`,
    });
  }
  if (production && vars.INTERNAL_TOKEN === undefined) {
    issues.push({
      variable: 'INTERNAL_TOKEN',
      message: 'INTERNAL_TOKEN is required when ENVIRONMENT=production',
    });
  }
  if (production && service === 'gateway' && vars.JWT_SECRET === undefined && vars.JWT_JWKS_URL === undefined) {
    issues.push({
      variable: 'JWT_SECRET',
      message: 'JWT_SECRET or JWT_JWKS_URL is required for the gateway when ENVIRONMENT=production',
    });
  }
  if (
    production &&
    vars.JWT_SECRET !== undefined &&
    Buffer.byteLength(vars.JWT_SECRET, 'utf8') < MIN_PRODUCTION_JWT_SECRET_BYTES
  ) {
    issues.push({
      variable: 'JWT_SECRET',
      message: `JWT_SECRET is too short for ENVIRONMENT=production: HS256 needs at least ${MIN_PRODUCTION_JWT_SECRET_BYTES} bytes`,
    });
  }
  if (service === 'alerting' && vars.ALERT_EMAIL !== undefined && vars.SMTP_URL === undefined) {
    issues.push({
      variable: 'SMTP_URL',
      message: 'SMTP_URL is required when ALERT_EMAIL is set (alerting cannot send e-mail without it)',
    });
  }
  return issues;
}

function deepFreeze<Value>(value: Value): Value {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) {
      deepFreeze(child);
    }
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the environment ONCE into the typed, deeply frozen configuration of `service`.
 *
 * Call it at start-up (in `main.ts`) and pass the result down; code never reads `process.env`
 * elsewhere. Defaults follow the contract (section 4); ports default per service (gateway
 * 8000/9464, ai-proxy 8001/9465, alerting 8002/9466).
 *
 * Edge cases:
 * - An empty or whitespace-only value counts as unset (the default applies); other values are
 *   trimmed. A bad value is never replaced by the default: it throws. The exception is
 *   USAGE_DIGEST_HOUR (default 8): there empty, like `off`, turns the daily digest off.
 * - Integers are plain decimal (`1e3`, `12abc`, `+5`, `-5`, `1.0` are errors). Booleans accept
 *   true/false/1/0/yes/no in any case. Enumerations (ENVIRONMENT, LOG_LEVEL, AI_PROVIDER,
 *   REDIS_FAILURE_MODE) are case-insensitive and come out lower-case.
 * - AI_PROVIDER defaults to `xai` when XAI_API_KEY is set, else `simulated`; `xai` without a key
 *   is allowed and gives `ai.configured: false`.
 * - AI_UPSTREAM_MAX_CONNECTIONS, AI_PROXY_MAX_CONNECTIONS and AI_MAX_CONCURRENT_STREAMS default
 *   to 0, which means unbounded (the pools grow with demand), not "none allowed".
 * - SHUTDOWN_GRACE_MS (default 25 000) is at least 1 and at most 2147483647, the longest delay a
 *   Node timer keeps (a longer one would fire at once).
 * - TOKEN_USAGE_WARNING_THRESHOLD defaults to floor(TOKEN_USAGE_ALERT_THRESHOLD / 2) and may not
 *   exceed it. METRICS_PORT may not equal PORT unless both are 0.
 * - ENVIRONMENT=production requires INTERNAL_TOKEN, requires JWT_SECRET or JWT_JWKS_URL for the
 *   gateway, and rejects a JWT_SECRET shorter than 32 bytes. Outside production, with neither JWT
 *   variable set, `auth.jwtSecret` is a fixed development secret and `auth.usingDevSecret` is true.
 * - The alerting service requires SMTP_URL when ALERT_EMAIL is set.
 * - Variables that are not in the contract are ignored; `OTEL_*` are left to the OpenTelemetry SDK,
 *   except that `OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]PROTOCOL` must be one the services can speak.
 *
 * @throws {ConfigError} naming every bad variable on one line (never a secret value).
 * @throws {TypeError} when `service` is not one of the three services.
 */
export function loadConfig(service: ServiceName, env: NodeJS.ProcessEnv = process.env): Config {
  if (!SERVICES.includes(service)) {
    throw new TypeError(`loadConfig: unknown service ${JSON.stringify(service)}`);
  }
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? 'environment');
        return { variable, message: `${variable} ${issue.message}` };
      }),
    );
  }
  const vars = result.data;
  const ports = {
    port: vars.PORT ?? DEFAULT_PORTS[service].port,
    metricsPort: vars.METRICS_PORT ?? DEFAULT_PORTS[service].metricsPort,
  };
  const issues = crossCheck(service, vars, ports);
  if (issues.length > 0) {
    throw new ConfigError(issues);
  }

  const provider: AIProvider = vars.AI_PROVIDER ?? (vars.XAI_API_KEY === undefined ? 'simulated' : 'xai');
  const usingDevSecret =
    vars.ENVIRONMENT !== 'production' && vars.JWT_SECRET === undefined && vars.JWT_JWKS_URL === undefined;

  const config: Config = {
    service,
    environment: vars.ENVIRONMENT,
    logLevel: vars.LOG_LEVEL,
    logSampleRate: vars.LOG_SAMPLE_RATE,
    logAIContent: vars.LOG_AI_CONTENT,
    host: vars.HOST,
    ...ports,
    version: vars.FLASHCASE_VERSION,
    shutdownGraceMs: vars.SHUTDOWN_GRACE_MS,
    urls: {
      aiProxy: vars.AI_PROXY_URL,
      alerting: vars.ALERTING_URL,
      gateway: vars.GATEWAY_URL,
      backend: vars.BACKEND_URL,
    },
    redis: {
      url: vars.REDIS_URL,
      clusterNodes: [...vars.REDIS_CLUSTER_NODES],
      keyPrefix: vars.REDIS_KEY_PREFIX,
      failureMode: vars.REDIS_FAILURE_MODE,
      storeTimeoutMs: vars.REDIS_STORE_TIMEOUT_MS,
    },
    tokens: {
      trackingEnabled: vars.TOKEN_USAGE_TRACKING_ENABLED,
      alertThreshold: vars.TOKEN_USAGE_ALERT_THRESHOLD,
      warningThreshold: vars.TOKEN_USAGE_WARNING_THRESHOLD ?? Math.floor(vars.TOKEN_USAGE_ALERT_THRESHOLD / 2),
    },
    ai: {
      provider,
      configured: provider === 'simulated' || vars.XAI_API_KEY !== undefined,
      apiKey: vars.XAI_API_KEY,
      baseUrl: vars.XAI_BASE_URL,
      model: vars.AI_MODEL,
      defaultTemperature: vars.AI_DEFAULT_TEMPERATURE,
      maxTokens: {
        chat: vars.AI_MAX_TOKENS_CHAT,
        rewrite: vars.AI_MAX_TOKENS_REWRITE,
        autocomplete: vars.AI_MAX_TOKENS_AUTOCOMPLETE,
      },
      maxN: vars.AI_MAX_N,
      upstreamTimeoutMs: vars.AI_UPSTREAM_TIMEOUT_MS,
      streamIdleTimeoutMs: vars.AI_STREAM_IDLE_TIMEOUT_MS,
      upstreamMaxConnections: vars.AI_UPSTREAM_MAX_CONNECTIONS,
      proxyMaxConnections: vars.AI_PROXY_MAX_CONNECTIONS,
      maxConcurrentStreams: vars.AI_MAX_CONCURRENT_STREAMS,
      inflightStaleMs: vars.AI_INFLIGHT_STALE_MS,
      simulatedLatencyMs: vars.AI_SIMULATED_LATENCY_MS,
      pricingFile: vars.PRICING_FILE,
      tokenBudgetPerUserPerHour: vars.AI_TOKEN_BUDGET_PER_USER_PER_HOUR,
    },
    budgets: {
      userDailyTicks: vars.AI_BUDGET_USD_PER_USER_PER_DAY,
      userMonthlyTicks: vars.AI_BUDGET_USD_PER_USER_PER_MONTH,
      monthlyTicks: vars.AI_BUDGET_USD_PER_MONTH,
      softRatio: vars.AI_BUDGET_SOFT_RATIO,
      timeZone: vars.BUDGET_TIMEZONE,
    },
    rateLimits: {
      aiPerMinute: vars.RATE_LIMIT_AI_PER_MINUTE,
      aiPerHour: vars.RATE_LIMIT_AI_PER_HOUR,
      generalPerMinute: vars.RATE_LIMIT_GENERAL_PER_MINUTE,
      generalPerHour: vars.RATE_LIMIT_GENERAL_PER_HOUR,
    },
    courtlistenerConfigured: vars.COURTLISTENER_API_KEY !== undefined,
    auth: {
      jwtSecret: usingDevSecret ? DEV_JWT_SECRET : vars.JWT_SECRET,
      jwtJwksUrl: vars.JWT_JWKS_URL,
      usingDevSecret,
    },
    internalToken: vars.INTERNAL_TOKEN,
    alerts: {
      email: vars.ALERT_EMAIL,
      emailFrom: vars.ALERT_EMAIL_FROM,
      smtpUrl: vars.SMTP_URL,
      slackWebhookUrl: vars.SLACK_WEBHOOK_URL,
      webhookUrl: vars.ALERT_WEBHOOK_URL,
      rulesFile: vars.ALERT_RULES_FILE,
      evalIntervalS: vars.ALERT_EVAL_INTERVAL_S,
      healthCheckIntervalS: vars.HEALTH_CHECK_INTERVAL_S,
      groupWaitS: vars.ALERT_GROUP_WAIT_S,
      groupIntervalS: vars.ALERT_GROUP_INTERVAL_S,
      repeatIntervalS: vars.ALERT_REPEAT_INTERVAL_S,
      usageDigestHour: vars.USAGE_DIGEST_HOUR,
    },
  };
  return deepFreeze(config);
}
