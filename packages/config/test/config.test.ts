import { describe, expect, it, vi } from 'vitest';
import { type Config, ConfigError, describeConfig, loadConfig, type ServiceName } from '../src/index';

const SECRET_32 = 'an-hs256-secret-of-at-least-32-bytes!';
const PRODUCTION = { ENVIRONMENT: 'production', INTERNAL_TOKEN: 'internal-token-value', JWT_SECRET: SECRET_32 };

/** The ConfigError that loading `env` throws; fails the test when nothing (or something else) is thrown. */
function configErrorFor(env: NodeJS.ProcessEnv, service: ServiceName = 'gateway'): ConfigError {
  try {
    loadConfig(service, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected loadConfig to throw for ${JSON.stringify(env)}`);
}

describe('loadConfig defaults', () => {
  it.each([
    ['gateway', 8000, 9464],
    ['ai-proxy', 8001, 9465],
    ['alerting', 8002, 9466],
  ] as const)('listens on the contract ports for %s (%i, metrics %i)', (service, port, metricsPort) => {
    const config = loadConfig(service, {});
    expect(config.service).toBe(service);
    expect(config.port).toBe(port);
    expect(config.metricsPort).toBe(metricsPort);
  });

  it('applies every contract default to an empty environment', () => {
    expect(loadConfig('gateway', {})).toEqual({
      service: 'gateway',
      environment: 'development',
      logLevel: 'info',
      logSampleRate: 1,
      logAIContent: false,
      host: '127.0.0.1',
      port: 8000,
      metricsPort: 9464,
      version: '0.1.0',
      shutdownGraceMs: 25_000,
      urls: {
        aiProxy: 'http://127.0.0.1:8001',
        alerting: 'http://127.0.0.1:8002',
        gateway: 'http://127.0.0.1:8000',
        backend: undefined,
      },
      redis: {
        url: undefined,
        clusterNodes: [],
        keyPrefix: 'flashcase:',
        failureMode: 'open',
        storeTimeoutMs: 500,
      },
      tokens: { trackingEnabled: true, alertThreshold: 100_000, warningThreshold: 50_000 },
      ai: {
        provider: 'simulated',
        configured: true,
        apiKey: undefined,
        baseUrl: 'https://api.x.ai/v1',
        model: 'grok-4-fast',
        defaultTemperature: 0.7,
        maxTokens: { chat: 2000, rewrite: 1000, autocomplete: 500 },
        maxN: 4,
        upstreamTimeoutMs: 60_000,
        streamIdleTimeoutMs: 60_000,
        upstreamMaxConnections: 0,
        proxyMaxConnections: 0,
        maxConcurrentStreams: 0,
        inflightStaleMs: 15_000,
        simulatedLatencyMs: 300,
        pricingFile: undefined,
        tokenBudgetPerUserPerHour: 0,
      },
      budgets: { userDailyTicks: 0, userMonthlyTicks: 0, monthlyTicks: 0, softRatio: 0.8, timeZone: 'UTC' },
      rateLimits: { aiPerMinute: 5, aiPerHour: 50, generalPerMinute: 10, generalPerHour: 100 },
      courtlistenerConfigured: false,
      auth: { jwtSecret: expect.any(String), jwtJwksUrl: undefined, usingDevSecret: true },
      internalToken: undefined,
      alerts: {
        email: undefined,
        emailFrom: undefined,
        smtpUrl: undefined,
        slackWebhookUrl: undefined,
        webhookUrl: undefined,
        rulesFile: undefined,
        evalIntervalS: 15,
        healthCheckIntervalS: 30,
        groupWaitS: 30,
        groupIntervalS: 300,
        repeatIntervalS: 14_400,
        usageDigestHour: 8,
      },
    } satisfies Config);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig('alerting', {
      ENVIRONMENT: 'test',
      LOG_LEVEL: 'debug',
      LOG_SAMPLE_RATE: '0.25',
      LOG_AI_CONTENT: 'true',
      HOST: '0.0.0.0',
      PORT: '0',
      METRICS_PORT: '0',
      FLASHCASE_VERSION: '1.2.3-rc.1',
      SHUTDOWN_GRACE_MS: '6000',
      AI_PROXY_URL: 'http://ai-proxy:8001',
      ALERTING_URL: 'http://alerting:8002',
      GATEWAY_URL: 'https://gateway.example.com',
      BACKEND_URL: 'http://backend:3000',
      REDIS_URL: 'rediss://default:pw@redis:6380/1',
      REDIS_CLUSTER_NODES: 'redis-1:7000, redis-2:7001,[::1]:7002',
      REDIS_KEY_PREFIX: 'fc-test:',
      REDIS_FAILURE_MODE: 'closed',
      REDIS_STORE_TIMEOUT_MS: '250',
      TOKEN_USAGE_TRACKING_ENABLED: 'no',
      TOKEN_USAGE_ALERT_THRESHOLD: '5000',
      TOKEN_USAGE_WARNING_THRESHOLD: '1000',
      XAI_API_KEY: 'xai-key',
      XAI_BASE_URL: 'http://127.0.0.1:9999/v1',
      AI_MODEL: 'grok-3-mini',
      AI_DEFAULT_TEMPERATURE: '1.5',
      AI_MAX_TOKENS_CHAT: '4000',
      AI_MAX_TOKENS_REWRITE: '3000',
      AI_MAX_TOKENS_AUTOCOMPLETE: '100',
      AI_UPSTREAM_TIMEOUT_MS: '1500',
      AI_STREAM_IDLE_TIMEOUT_MS: '2500',
      AI_UPSTREAM_MAX_CONNECTIONS: '512',
      AI_PROXY_MAX_CONNECTIONS: '1024',
      AI_MAX_CONCURRENT_STREAMS: '2000',
      PRICING_FILE: './pricing.yaml',
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
      RATE_LIMIT_GENERAL_PER_MINUTE: '60',
      RATE_LIMIT_GENERAL_PER_HOUR: '600',
      AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '20000',
      AI_MAX_N: '2',
      AI_BUDGET_USD_PER_USER_PER_DAY: '0.01',
      AI_BUDGET_USD_PER_USER_PER_MONTH: '12.5',
      AI_BUDGET_USD_PER_MONTH: '900000',
      AI_BUDGET_SOFT_RATIO: '0.9',
      BUDGET_TIMEZONE: 'Europe/Berlin',
      COURTLISTENER_API_KEY: 'cl-key',
      JWT_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
      INTERNAL_TOKEN: 'internal',
      ALERT_EMAIL: 'ops@example.com, oncall@example.com',
      ALERT_EMAIL_FROM: 'FlashCase Alerts <alerts@example.com>',
      SMTP_URL: 'smtps://user:pass@mail.example.com:465',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/xyz',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/flashcase?token=abc',
      ALERT_RULES_FILE: '/etc/flashcase/rules.yaml',
      ALERT_EVAL_INTERVAL_S: '5',
      HEALTH_CHECK_INTERVAL_S: '10',
      ALERT_GROUP_WAIT_S: '1',
      ALERT_GROUP_INTERVAL_S: '60',
      ALERT_REPEAT_INTERVAL_S: '3600',
      USAGE_DIGEST_HOUR: '23',
    });
    expect(config).toMatchObject({
      environment: 'test',
      logLevel: 'debug',
      logSampleRate: 0.25,
      logAIContent: true,
      host: '0.0.0.0',
      port: 0,
      metricsPort: 0,
      version: '1.2.3-rc.1',
      shutdownGraceMs: 6000,
      urls: {
        aiProxy: 'http://ai-proxy:8001',
        alerting: 'http://alerting:8002',
        gateway: 'https://gateway.example.com',
        backend: 'http://backend:3000',
      },
      redis: {
        url: 'rediss://default:pw@redis:6380/1',
        clusterNodes: ['redis-1:7000', 'redis-2:7001', '[::1]:7002'],
        keyPrefix: 'fc-test:',
        failureMode: 'closed',
        storeTimeoutMs: 250,
      },
      tokens: { trackingEnabled: false, alertThreshold: 5000, warningThreshold: 1000 },
      ai: {
        provider: 'xai',
        configured: true,
        apiKey: 'xai-key',
        baseUrl: 'http://127.0.0.1:9999/v1',
        model: 'grok-3-mini',
        defaultTemperature: 1.5,
        maxTokens: { chat: 4000, rewrite: 3000, autocomplete: 100 },
        maxN: 2,
        upstreamTimeoutMs: 1500,
        streamIdleTimeoutMs: 2500,
        upstreamMaxConnections: 512,
        proxyMaxConnections: 1024,
        maxConcurrentStreams: 2000,
        pricingFile: './pricing.yaml',
        tokenBudgetPerUserPerHour: 20_000,
      },
      budgets: {
        userDailyTicks: 100_000_000,
        userMonthlyTicks: 125_000_000_000,
        monthlyTicks: 9_000_000_000_000_000,
        softRatio: 0.9,
        timeZone: 'Europe/Berlin',
      },
      rateLimits: { aiPerMinute: 0, aiPerHour: 0, generalPerMinute: 60, generalPerHour: 600 },
      courtlistenerConfigured: true,
      auth: {
        jwtSecret: undefined,
        jwtJwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
        usingDevSecret: false,
      },
      internalToken: 'internal',
      alerts: {
        email: 'ops@example.com, oncall@example.com',
        emailFrom: 'FlashCase Alerts <alerts@example.com>',
        smtpUrl: 'smtps://user:pass@mail.example.com:465',
        slackWebhookUrl: 'https://hooks.slack.com/services/T0/B0/xyz',
        webhookUrl: 'https://hooks.example.com/flashcase?token=abc',
        rulesFile: '/etc/flashcase/rules.yaml',
        evalIntervalS: 5,
        healthCheckIntervalS: 10,
        groupWaitS: 1,
        groupIntervalS: 60,
        repeatIntervalS: 3600,
        usageDigestHour: 23,
      },
    });
  });

  it('treats an empty or whitespace-only value as unset', () => {
    const config = loadConfig('ai-proxy', { PORT: '', RATE_LIMIT_AI_PER_MINUTE: '   ', REDIS_URL: '', LOG_LEVEL: '' });
    expect(config.port).toBe(8001);
    expect(config.rateLimits.aiPerMinute).toBe(5);
    expect(config.redis.url).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });

  it('turns the daily digest off with USAGE_DIGEST_HOUR empty or off, and keeps 8 when it is unset', () => {
    expect(loadConfig('alerting', {}).alerts.usageDigestHour).toBe(8);
    expect(loadConfig('alerting', { USAGE_DIGEST_HOUR: '' }).alerts.usageDigestHour).toBeNull();
    expect(loadConfig('alerting', { USAGE_DIGEST_HOUR: '  ' }).alerts.usageDigestHour).toBeNull();
    expect(loadConfig('alerting', { USAGE_DIGEST_HOUR: 'OFF' }).alerts.usageDigestHour).toBeNull();
    expect(loadConfig('alerting', { USAGE_DIGEST_HOUR: ' 0 ' }).alerts.usageDigestHour).toBe(0);
    expect(loadConfig('alerting', { USAGE_DIGEST_HOUR: '23' }).alerts.usageDigestHour).toBe(23);
  });

  it('trims values, lower-cases enumerations and drops trailing slashes from base URLs', () => {
    const config = loadConfig('gateway', {
      PORT: ' 9000 ',
      ENVIRONMENT: 'Test',
      LOG_LEVEL: 'WARN',
      AI_PROXY_URL: 'http://ai-proxy:8001/',
      XAI_BASE_URL: 'https://api.example.com/v1//',
    });
    expect(config.port).toBe(9000);
    expect(config.environment).toBe('test');
    expect(config.logLevel).toBe('warn');
    expect(config.urls.aiProxy).toBe('http://ai-proxy:8001');
    expect(config.ai.baseUrl).toBe('https://api.example.com/v1');
  });

  it('reads process.env when no environment is passed', () => {
    vi.stubEnv('ENVIRONMENT', 'test');
    vi.stubEnv('RATE_LIMIT_GENERAL_PER_MINUTE', '42');
    try {
      expect(loadConfig('gateway').rateLimits.generalPerMinute).toBe(42);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('rejects an unknown service name', () => {
    expect(() => loadConfig('billing' as ServiceName, {})).toThrow(TypeError);
  });
});

describe('loadConfig bad values', () => {
  it.each([
    ['AI_BUDGET_USD_PER_USER_PER_DAY', '-1'],
    ['AI_BUDGET_USD_PER_USER_PER_DAY', '0.00000000001'],
    ['AI_BUDGET_USD_PER_MONTH', '1e3'],
    ['AI_BUDGET_USD_PER_MONTH', '900001'],
    ['AI_BUDGET_SOFT_RATIO', '1.5'],
    ['BUDGET_TIMEZONE', 'Mars/Olympus_Mons'],
    ['USAGE_DIGEST_HOUR', '24'],
    ['USAGE_DIGEST_HOUR', '-1'],
    ['USAGE_DIGEST_HOUR', '8.5'],
    ['USAGE_DIGEST_HOUR', '08:00'],
    ['USAGE_DIGEST_HOUR', 'never'],
  ])('refuses %s=%s', (variable, value) => {
    expect(configErrorFor({ [variable]: value }).variable).toBe(variable);
  });

  it('says what USAGE_DIGEST_HOUR takes when its value is bad', () => {
    expect(configErrorFor({ USAGE_DIGEST_HOUR: '25' }, 'alerting').message).toBe(
      'USAGE_DIGEST_HOUR must be an hour from 0 to 23, or off (or empty), got "25"',
    );
  });

  it('throws a one-line ConfigError naming the variable and the value', () => {
    const error = configErrorFor({ RATE_LIMIT_AI_PER_MINUTE: '-5' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.variable).toBe('RATE_LIMIT_AI_PER_MINUTE');
    expect(error.message).toBe('RATE_LIMIT_AI_PER_MINUTE must be a non-negative integer, got "-5"');
  });

  it.each([
    ['RATE_LIMIT_AI_PER_MINUTE', '-5', 'must be a non-negative integer'],
    ['RATE_LIMIT_AI_PER_HOUR', '1e3', 'must be a non-negative integer'],
    ['RATE_LIMIT_GENERAL_PER_MINUTE', '12abc', 'must be a non-negative integer'],
    ['RATE_LIMIT_GENERAL_PER_HOUR', '1.5', 'must be a non-negative integer'],
    ['AI_TOKEN_BUDGET_PER_USER_PER_HOUR', '+10', 'must be a non-negative integer'],
    ['TOKEN_USAGE_WARNING_THRESHOLD', 'half', 'must be a non-negative integer'],
    ['TOKEN_USAGE_ALERT_THRESHOLD', '0', 'must be a positive integer'],
    ['AI_MAX_TOKENS_CHAT', '0', 'must be a positive integer'],
    ['AI_MAX_TOKENS_REWRITE', '-1', 'must be a positive integer'],
    ['AI_MAX_TOKENS_AUTOCOMPLETE', '5e2', 'must be a positive integer'],
    ['AI_UPSTREAM_TIMEOUT_MS', '60s', 'must be a positive integer'],
    ['AI_STREAM_IDLE_TIMEOUT_MS', '0', 'must be a positive integer'],
    ['AI_UPSTREAM_MAX_CONNECTIONS', '-1', 'must be a non-negative integer'],
    ['AI_PROXY_MAX_CONNECTIONS', 'unbounded', 'must be a non-negative integer'],
    ['AI_MAX_CONCURRENT_STREAMS', '1.5', 'must be a non-negative integer'],
    ['AI_INFLIGHT_STALE_MS', '0', 'must be a positive integer'],
    ['REDIS_STORE_TIMEOUT_MS', '0', 'must be a positive integer'],
    ['ALERT_EVAL_INTERVAL_S', '0', 'must be a positive integer'],
    ['HEALTH_CHECK_INTERVAL_S', 'x', 'must be a positive integer'],
    ['ALERT_GROUP_WAIT_S', '-30', 'must be a positive integer'],
    ['ALERT_GROUP_INTERVAL_S', '5m', 'must be a positive integer'],
    ['ALERT_REPEAT_INTERVAL_S', '99999999999999999999', 'must be a positive integer'],
    ['SHUTDOWN_GRACE_MS', '0', 'must be a positive integer of milliseconds up to 2147483647'],
    ['SHUTDOWN_GRACE_MS', '-1000', 'must be a positive integer of milliseconds up to 2147483647'],
    ['SHUTDOWN_GRACE_MS', '25s', 'must be a positive integer of milliseconds up to 2147483647'],
    ['SHUTDOWN_GRACE_MS', '2.5e4', 'must be a positive integer of milliseconds up to 2147483647'],
    ['SHUTDOWN_GRACE_MS', '2147483648', 'must be a positive integer of milliseconds up to 2147483647'],
    ['PORT', '65536', 'must be an integer port from 0 to 65535'],
    ['METRICS_PORT', 'http', 'must be an integer port from 0 to 65535'],
    ['LOG_SAMPLE_RATE', '1.5', 'must be a number from 0 to 1'],
    ['LOG_SAMPLE_RATE', '-0.1', 'must be a number from 0 to 1'],
    ['AI_DEFAULT_TEMPERATURE', '2.1', 'must be a number from 0 to 2'],
    ['AI_DEFAULT_TEMPERATURE', 'warm', 'must be a number from 0 to 2'],
    ['ENVIRONMENT', 'prod', 'must be one of development, production, test'],
    ['LOG_LEVEL', 'verbose', 'must be one of error, warn, info, http, debug'],
    ['AI_PROVIDER', 'openai', 'must be one of xai, simulated'],
    ['REDIS_FAILURE_MODE', 'sometimes', 'must be one of open, closed'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http', 'must be one of http/protobuf, http/json, grpc'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'grpc+tls', 'must be one of http/protobuf, http/json, grpc'],
    ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'json', 'must be one of http/protobuf, http/json, grpc'],
    ['LOG_AI_CONTENT', 'maybe', 'must be one of true, false, 1, 0, yes, no'],
    ['TOKEN_USAGE_TRACKING_ENABLED', 'on', 'must be one of true, false, 1, 0, yes, no'],
    ['AI_PROXY_URL', 'ai-proxy:8001', 'must be an http:// or https:// URL'],
    ['ALERTING_URL', 'ftp://alerting', 'must be an http:// or https:// URL'],
    ['GATEWAY_URL', 'http://', 'must be an http:// or https:// URL'],
    ['BACKEND_URL', 'http://back end', 'must be an http:// or https:// URL'],
    ['XAI_BASE_URL', 'api.x.ai/v1', 'must be an http:// or https:// URL'],
    ['JWT_JWKS_URL', 'file:///etc/jwks.json', 'must be an http:// or https:// URL'],
    ['REDIS_URL', 'http://redis:6379', 'must be a redis:// or rediss:// URL'],
    ['SMTP_URL', 'mail.example.com:25', 'must be an smtp:// or smtps:// URL'],
    ['SLACK_WEBHOOK_URL', 'hooks.slack.com/services/x', 'must be an http:// or https:// URL'],
    ['ALERT_WEBHOOK_URL', 'not a url', 'must be an http:// or https:// URL'],
    ['REDIS_CLUSTER_NODES', 'redis-1:7000,redis-2', 'must be a comma-separated list of host:port'],
    ['REDIS_CLUSTER_NODES', 'redis-1:70000', 'must be a comma-separated list of host:port'],
    ['REDIS_KEY_PREFIX', '{flashcase}:', 'must be a key prefix without whitespace or braces'],
    ['HOST', 'http://0.0.0.0', 'must be a host name or IP address'],
    ['FLASHCASE_VERSION', 'v1', 'must be a version like 1.2.3'],
    ['ALERT_EMAIL', 'ops@example.com, nobody', 'must be an e-mail address or a comma-separated list of them'],
    ['ALERT_EMAIL_FROM', 'FlashCase <alerts>', 'must be an e-mail address, or Name <address>'],
  ])('names %s when it is %j', (variable, value, expected) => {
    const error = configErrorFor({ [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable} ${expected}`)).toBe(true);
    expect(error.message).not.toMatch(/[\r\n]/);
  });

  it('keeps the message on one line when the value holds a newline', () => {
    const error = configErrorFor({ LOG_LEVEL: 'info\nerror' });
    expect(error.message).toBe('LOG_LEVEL must be one of error, warn, info, http, debug, got "info\\nerror"');
  });

  it('reports every bad variable on one line, in the contract order', () => {
    const error = configErrorFor({ RATE_LIMIT_AI_PER_HOUR: 'lots', LOG_LEVEL: 'loud', PORT: '-1' });
    expect(error.variable).toBe('LOG_LEVEL');
    expect(error.issues.map((issue) => issue.variable)).toEqual(['LOG_LEVEL', 'PORT', 'RATE_LIMIT_AI_PER_HOUR']);
    expect(error.message).toBe(
      'LOG_LEVEL must be one of error, warn, info, http, debug, got "loud"; ' +
        'PORT must be an integer port from 0 to 65535, got "-1"; ' +
        'RATE_LIMIT_AI_PER_HOUR must be a non-negative integer, got "lots"',
    );
  });

  it('never prints a value that may hold a secret', () => {
    const values = {
      REDIS_URL: 'http://user:redis-password@redis:6379',
      SMTP_URL: 'mail://user:smtp-password@mail',
      SLACK_WEBHOOK_URL: 'hooks.slack.com/services/slack-token',
      ALERT_WEBHOOK_URL: 'webhook-token',
    };
    const error = configErrorFor(values);
    expect(error.issues.map((issue) => issue.variable)).toEqual(Object.keys(values));
    for (const value of Object.values(values)) {
      expect(error.message).not.toContain(value);
    }
    expect(error.message).not.toMatch(/password|token/);
  });

  it('reads 0 for the connection pools and the open streams as unbounded, and a number as the bound', () => {
    const unbounded = loadConfig('ai-proxy', {
      AI_UPSTREAM_MAX_CONNECTIONS: '0',
      AI_PROXY_MAX_CONNECTIONS: '0',
      AI_MAX_CONCURRENT_STREAMS: '0',
    });
    expect(unbounded.ai).toMatchObject({ upstreamMaxConnections: 0, proxyMaxConnections: 0, maxConcurrentStreams: 0 });
    const bounded = loadConfig('gateway', { AI_PROXY_MAX_CONNECTIONS: '1', AI_MAX_CONCURRENT_STREAMS: '1000' });
    expect(bounded.ai).toMatchObject({ upstreamMaxConnections: 0, proxyMaxConnections: 1, maxConcurrentStreams: 1000 });
  });

  it('says what SHUTDOWN_GRACE_MS takes when its value is bad', () => {
    expect(configErrorFor({ SHUTDOWN_GRACE_MS: '25s' }, 'ai-proxy').message).toBe(
      'SHUTDOWN_GRACE_MS must be a positive integer of milliseconds up to 2147483647, got "25s"',
    );
  });

  it('takes any SHUTDOWN_GRACE_MS a Node timer keeps, from 1 ms to 2147483647 ms, for every service', () => {
    for (const service of ['gateway', 'ai-proxy', 'alerting'] as const) {
      expect(loadConfig(service, { SHUTDOWN_GRACE_MS: '1' }).shutdownGraceMs).toBe(1);
      expect(loadConfig(service, { SHUTDOWN_GRACE_MS: ' 4000 ' }).shutdownGraceMs).toBe(4000);
      expect(loadConfig(service, { SHUTDOWN_GRACE_MS: '2147483647' }).shutdownGraceMs).toBe(2_147_483_647);
      expect(loadConfig(service, { SHUTDOWN_GRACE_MS: '' }).shutdownGraceMs).toBe(25_000);
    }
  });

  it('keeps the stream idle timeout apart from the upstream timeout', () => {
    const config = loadConfig('ai-proxy', { AI_UPSTREAM_TIMEOUT_MS: '5000' });
    expect(config.ai).toMatchObject({ upstreamTimeoutMs: 5000, streamIdleTimeoutMs: 60_000 });
  });

  it('accepts 0 for the rate limits and the token budget (that limit is off)', () => {
    const config = loadConfig('ai-proxy', {
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
      RATE_LIMIT_GENERAL_PER_MINUTE: '0',
      RATE_LIMIT_GENERAL_PER_HOUR: '0',
      AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '0',
    });
    expect(config.rateLimits).toEqual({ aiPerMinute: 0, aiPerHour: 0, generalPerMinute: 0, generalPerHour: 0 });
    expect(config.ai.tokenBudgetPerUserPerHour).toBe(0);
  });

  it('rejects METRICS_PORT equal to PORT, unless both are 0', () => {
    const error = configErrorFor({ PORT: '9464' });
    expect(error.variable).toBe('METRICS_PORT');
    expect(error.message).toContain('must differ from PORT');
    expect(loadConfig('gateway', { PORT: '0', METRICS_PORT: '0' })).toMatchObject({ port: 0, metricsPort: 0 });
  });
});

describe('loadConfig booleans', () => {
  it.each(['true', 'TRUE', 'True', '1', 'yes', 'YES'])('reads %j as true', (value) => {
    const config = loadConfig('gateway', { LOG_AI_CONTENT: value, TOKEN_USAGE_TRACKING_ENABLED: value });
    expect(config.logAIContent).toBe(true);
    expect(config.tokens.trackingEnabled).toBe(true);
  });

  it.each(['false', 'FALSE', 'False', '0', 'no', 'No'])('reads %j as false', (value) => {
    const config = loadConfig('gateway', { LOG_AI_CONTENT: value, TOKEN_USAGE_TRACKING_ENABLED: value });
    expect(config.logAIContent).toBe(false);
    expect(config.tokens.trackingEnabled).toBe(false);
  });

  it.each(['on', 'off', 'y', 'n', '2', 'enabled', 'truee'])('rejects %j instead of guessing', (value) => {
    expect(configErrorFor({ TOKEN_USAGE_TRACKING_ENABLED: value }).variable).toBe('TOKEN_USAGE_TRACKING_ENABLED');
  });
});

describe('loadConfig token thresholds', () => {
  it('derives the warning threshold as half the alert threshold, rounded down', () => {
    expect(loadConfig('alerting', { TOKEN_USAGE_ALERT_THRESHOLD: '1001' }).tokens).toEqual({
      trackingEnabled: true,
      alertThreshold: 1001,
      warningThreshold: 500,
    });
  });

  it('uses an explicit warning threshold as given', () => {
    const config = loadConfig('alerting', {
      TOKEN_USAGE_ALERT_THRESHOLD: '1000',
      TOKEN_USAGE_WARNING_THRESHOLD: '900',
    });
    expect(config.tokens.warningThreshold).toBe(900);
  });

  it('rejects a warning threshold above the alert threshold', () => {
    const error = configErrorFor({ TOKEN_USAGE_ALERT_THRESHOLD: '1000', TOKEN_USAGE_WARNING_THRESHOLD: '1001' });
    expect(error.variable).toBe('TOKEN_USAGE_WARNING_THRESHOLD');
    expect(error.message).toBe(
      'TOKEN_USAGE_WARNING_THRESHOLD must not exceed TOKEN_USAGE_ALERT_THRESHOLD (1000), got "1001"',
    );
  });
});

describe('loadConfig AI provider', () => {
  it('defaults to simulated without XAI_API_KEY', () => {
    expect(loadConfig('ai-proxy', {}).ai).toMatchObject({ provider: 'simulated', configured: true, apiKey: undefined });
  });

  it('defaults to xai when XAI_API_KEY is set', () => {
    expect(loadConfig('ai-proxy', { XAI_API_KEY: 'xai-key' }).ai).toMatchObject({
      provider: 'xai',
      configured: true,
      apiKey: 'xai-key',
    });
  });

  it('allows xai without a key but records it as not configured', () => {
    expect(loadConfig('ai-proxy', { AI_PROVIDER: 'xai' }).ai).toMatchObject({ provider: 'xai', configured: false });
  });

  it('keeps an explicit simulated provider even when a key is set', () => {
    expect(loadConfig('ai-proxy', { AI_PROVIDER: 'simulated', XAI_API_KEY: 'xai-key' }).ai.provider).toBe('simulated');
  });
});

describe('loadConfig production strictness', () => {
  it.each(['gateway', 'ai-proxy', 'alerting'] as const)('requires INTERNAL_TOKEN for %s', (service) => {
    const error = configErrorFor({ ...PRODUCTION, INTERNAL_TOKEN: undefined }, service);
    expect(error.variable).toBe('INTERNAL_TOKEN');
    expect(error.message).toBe('INTERNAL_TOKEN is required when ENVIRONMENT=production');
  });

  it('requires JWT_SECRET or JWT_JWKS_URL for the gateway', () => {
    const error = configErrorFor({ ...PRODUCTION, JWT_SECRET: undefined });
    expect(error.variable).toBe('JWT_SECRET');
    expect(error.message).toContain('JWT_SECRET or JWT_JWKS_URL is required');
    const withJwks = loadConfig('gateway', {
      ...PRODUCTION,
      JWT_SECRET: undefined,
      JWT_JWKS_URL: 'https://issuer.example.com/jwks.json',
    });
    expect(withJwks.auth).toEqual({
      jwtSecret: undefined,
      jwtJwksUrl: 'https://issuer.example.com/jwks.json',
      usingDevSecret: false,
    });
  });

  it.each(['ai-proxy', 'alerting'] as const)(
    'starts %s without a JWT variable and without the dev secret',
    (service) => {
      const config = loadConfig(service, { ...PRODUCTION, JWT_SECRET: undefined });
      expect(config.auth).toEqual({ jwtSecret: undefined, jwtJwksUrl: undefined, usingDevSecret: false });
    },
  );

  it('rejects a JWT_SECRET shorter than 32 bytes without printing it', () => {
    const shortSecret = 'only-31-bytes-of-secret-value!!';
    expect(shortSecret).toHaveLength(31);
    const error = configErrorFor({ ...PRODUCTION, JWT_SECRET: shortSecret });
    expect(error.variable).toBe('JWT_SECRET');
    expect(error.message).toContain('too short');
    expect(error.message).not.toContain(shortSecret);
    const config = loadConfig('gateway', { ...PRODUCTION, JWT_SECRET: `${shortSecret}!` });
    expect(config.auth).toEqual({ jwtSecret: `${shortSecret}!`, jwtJwksUrl: undefined, usingDevSecret: false });
  });

  it('accepts a complete production environment', () => {
    const config = loadConfig('gateway', PRODUCTION);
    expect(config.environment).toBe('production');
    expect(config.internalToken).toBe('internal-token-value');
    expect(config.auth.usingDevSecret).toBe(false);
  });

  it.each(['development', 'test'])('uses a fixed dev-only secret in %s when no JWT variable is set', (environment) => {
    const first = loadConfig('gateway', { ENVIRONMENT: environment });
    const second = loadConfig('gateway', { ENVIRONMENT: environment });
    expect(first.auth.usingDevSecret).toBe(true);
    expect(first.auth.jwtSecret).toEqual(expect.any(String));
    expect(Buffer.byteLength(first.auth.jwtSecret ?? '')).toBeGreaterThanOrEqual(32);
    expect(second.auth.jwtSecret).toBe(first.auth.jwtSecret);
  });

  it('uses JWT_SECRET as given outside production, however short', () => {
    expect(loadConfig('gateway', { JWT_SECRET: 'dev' }).auth).toEqual({
      jwtSecret: 'dev',
      jwtJwksUrl: undefined,
      usingDevSecret: false,
    });
  });

  it('requires SMTP_URL for the alerting service when ALERT_EMAIL is set', () => {
    const error = configErrorFor({ ALERT_EMAIL: 'ops@example.com' }, 'alerting');
    expect(error.variable).toBe('SMTP_URL');
    expect(loadConfig('gateway', { ALERT_EMAIL: 'ops@example.com' }).alerts.email).toBe('ops@example.com');
  });
});

/** Every object reachable from `value`, `value` included. */
function objectsIn(value: unknown): object[] {
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  return [value, ...Object.values(value).flatMap(objectsIn)];
}

describe('loadConfig frozen result', () => {
  const config = loadConfig('gateway', { REDIS_CLUSTER_NODES: 'redis-1:7000' });

  it('freezes every level, arrays included', () => {
    const objects = objectsIn(config);
    expect(objects.length).toBeGreaterThanOrEqual(10);
    for (const object of objects) {
      expect(Object.isFrozen(object)).toBe(true);
    }
  });

  it('throws on assignment at any depth (strict mode)', () => {
    const writable = config as unknown as {
      port: number;
      rateLimits: { aiPerMinute: number };
      ai: { maxTokens: { chat: number } };
      redis: { clusterNodes: string[] };
    };
    expect(() => {
      writable.port = 1;
    }).toThrow(TypeError);
    expect(() => {
      writable.rateLimits.aiPerMinute = 1000;
    }).toThrow(TypeError);
    expect(() => {
      writable.ai.maxTokens.chat = 1_000_000;
    }).toThrow(TypeError);
    expect(() => writable.redis.clusterNodes.push('evil:6379')).toThrow(TypeError);
    expect(config.port).toBe(8000);
    expect(config.rateLimits.aiPerMinute).toBe(5);
    expect(config.ai.maxTokens.chat).toBe(2000);
    expect(config.redis.clusterNodes).toEqual(['redis-1:7000']);
  });

  it('builds a fresh object on every load', () => {
    const other = loadConfig('gateway', {});
    expect(other.redis.clusterNodes).toEqual([]);
    expect(other.redis).not.toBe(config.redis);
  });
});

describe('describeConfig', () => {
  const secrets = {
    XAI_API_KEY: 'xai-secret-key',
    JWT_SECRET: 'jwt-secret-that-is-long-enough-for-production',
    INTERNAL_TOKEN: 'internal-secret-token',
    REDIS_URL: 'redis://default:redis-secret-password@redis:6379/0',
    SMTP_URL: 'smtp://mailer:smtp-secret-password@mail.example.com:587',
    SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/slack-secret-path',
    ALERT_WEBHOOK_URL: 'https://hooks.example.com/notify?token=webhook-secret-token',
    COURTLISTENER_API_KEY: 'courtlistener-secret-key',
  };

  it('replaces every secret and never includes one in its JSON', () => {
    const description = describeConfig(loadConfig('alerting', { ...secrets, ALERT_EMAIL: 'ops@example.com' }));
    expect(description.ai.apiKey).toBe('[set]');
    expect(description.auth.jwtSecret).toBe('[set]');
    expect(description.internalToken).toBe('[set]');
    expect(description.alerts.slackWebhookUrl).toBe('[set]');
    expect(description.alerts.webhookUrl).toBe('[set]');
    expect(description.redis.url).toBe('redis://***@redis:6379/0');
    expect(description.alerts.smtpUrl).toBe('smtp://***@mail.example.com:587');
    expect(description.courtlistenerConfigured).toBe(true);
    const json = JSON.stringify(description);
    for (const secret of ['xai-secret', 'jwt-secret', 'internal-secret', 'redis-secret', 'smtp-secret']) {
      expect(json).not.toContain(secret);
    }
    expect(json).not.toMatch(/slack-secret|webhook-secret|courtlistener-secret/);
  });

  it('says "[unset]" for missing secrets and hides the dev secret too', () => {
    const config = loadConfig('gateway', {});
    const description = describeConfig(config);
    expect(description.ai.apiKey).toBe('[unset]');
    expect(description.internalToken).toBe('[unset]');
    expect(description.alerts.slackWebhookUrl).toBe('[unset]');
    expect(description.auth).toEqual({ jwtSecret: '[set]', jwtJwksUrl: null, usingDevSecret: true });
    expect(JSON.stringify(description)).not.toContain(config.auth.jwtSecret);
  });

  it('keeps the non-secret settings an operator needs to see', () => {
    const description = describeConfig(loadConfig('ai-proxy', { PORT: '18001', REDIS_KEY_PREFIX: 'fc:' }));
    expect(description).toMatchObject({
      service: 'ai-proxy',
      port: 18_001,
      metricsPort: 9465,
      shutdownGraceMs: 25_000,
      redis: { url: null, keyPrefix: 'fc:', failureMode: 'open' },
      rateLimits: { aiPerMinute: 5, aiPerHour: 50, generalPerMinute: 10, generalPerHour: 100 },
      ai: { provider: 'simulated', model: 'grok-4-fast', baseUrl: 'https://api.x.ai/v1' },
    });
    expect(Object.isFrozen(description)).toBe(false);
  });
});
