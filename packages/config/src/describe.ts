import type { Config } from './types';

/** What `describeConfig` shows for a secret. */
type Presence = '[set]' | '[unset]';

function presence(secret: string | undefined): Presence {
  return secret === undefined ? '[unset]' : '[set]';
}

/** The URL with any user name and password replaced by `***`; `null` when unset. */
function withoutCredentials(url: string | undefined): string | null {
  if (url === undefined) {
    return null;
  }
  const parsed = URL.parse(url);
  if (parsed === null) {
    // NOTE: loadConfig only stores URLs that parse; a hand-built Config could hold anything.
    return '[unparseable]';
  }
  if (parsed.username === '' && parsed.password === '') {
    return url;
  }
  parsed.username = '***';
  parsed.password = '';
  return parsed.href;
}

/**
 * A plain, JSON-serialisable copy of `config` that is safe to log at start-up.
 *
 * Edge cases:
 * - Secrets (`ai.apiKey`, `auth.jwtSecret`, `internalToken`, `alerts.slackWebhookUrl`,
 *   `alerts.webhookUrl`) become `"[set]"` or `"[unset]"`; the development JWT secret shows as
 *   `"[set]"`, with `auth.usingDevSecret: true` beside it.
 * - URLs that may carry credentials (`redis.url`, `alerts.smtpUrl`, and every other URL) keep
 *   their host but show the user name as `***` and drop the password.
 * - Other unset optional values are `null` rather than missing, so every key shows in a log line.
 * - The result is a new, unfrozen object; changing it does not touch `config`.
 */
export function describeConfig(config: Config) {
  return {
    service: config.service,
    environment: config.environment,
    logLevel: config.logLevel,
    logSampleRate: config.logSampleRate,
    logAIContent: config.logAIContent,
    host: config.host,
    port: config.port,
    metricsPort: config.metricsPort,
    version: config.version,
    shutdownGraceMs: config.shutdownGraceMs,
    urls: {
      aiProxy: withoutCredentials(config.urls.aiProxy),
      alerting: withoutCredentials(config.urls.alerting),
      gateway: withoutCredentials(config.urls.gateway),
      backend: withoutCredentials(config.urls.backend),
    },
    redis: {
      url: withoutCredentials(config.redis.url),
      clusterNodes: [...config.redis.clusterNodes],
      keyPrefix: config.redis.keyPrefix,
      failureMode: config.redis.failureMode,
      storeTimeoutMs: config.redis.storeTimeoutMs,
    },
    tokens: { ...config.tokens },
    ai: {
      provider: config.ai.provider,
      configured: config.ai.configured,
      apiKey: presence(config.ai.apiKey),
      baseUrl: withoutCredentials(config.ai.baseUrl),
      model: config.ai.model,
      defaultTemperature: config.ai.defaultTemperature,
      maxTokens: { ...config.ai.maxTokens },
      maxN: config.ai.maxN,
      upstreamTimeoutMs: config.ai.upstreamTimeoutMs,
      streamIdleTimeoutMs: config.ai.streamIdleTimeoutMs,
      upstreamMaxConnections: config.ai.upstreamMaxConnections,
      proxyMaxConnections: config.ai.proxyMaxConnections,
      maxConcurrentStreams: config.ai.maxConcurrentStreams,
      inflightStaleMs: config.ai.inflightStaleMs,
      simulatedLatencyMs: config.ai.simulatedLatencyMs,
      pricingFile: config.ai.pricingFile ?? null,
      tokenBudgetPerUserPerHour: config.ai.tokenBudgetPerUserPerHour,
    },
    budgets: { ...config.budgets },
    rateLimits: { ...config.rateLimits },
    courtlistenerConfigured: config.courtlistenerConfigured,
    auth: {
      jwtSecret: presence(config.auth.jwtSecret),
      jwtJwksUrl: withoutCredentials(config.auth.jwtJwksUrl),
      usingDevSecret: config.auth.usingDevSecret,
    },
    internalToken: presence(config.internalToken),
    alerts: {
      email: config.alerts.email ?? null,
      emailFrom: config.alerts.emailFrom ?? null,
      smtpUrl: withoutCredentials(config.alerts.smtpUrl),
      slackWebhookUrl: presence(config.alerts.slackWebhookUrl),
      webhookUrl: presence(config.alerts.webhookUrl),
      rulesFile: config.alerts.rulesFile ?? null,
      evalIntervalS: config.alerts.evalIntervalS,
      healthCheckIntervalS: config.alerts.healthCheckIntervalS,
      groupWaitS: config.alerts.groupWaitS,
      groupIntervalS: config.alerts.groupIntervalS,
      repeatIntervalS: config.alerts.repeatIntervalS,
      usageDigestHour: config.alerts.usageDigestHour,
    },
  };
}

/** The shape `describeConfig` returns: `Config` with secrets as `"[set]"` / `"[unset]"`. */
export type ConfigDescription = ReturnType<typeof describeConfig>;
