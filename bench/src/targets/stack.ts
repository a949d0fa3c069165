/**
 * The c and d stacks: ai-proxy, and for d a gateway in front of it, started as production starts
 * them (`node <main.js>`, environment only) with full telemetry to the bench's OTLP sink and Redis.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { type Child, freePort } from '../processes.ts';
import type { ProcessGroup } from '../run/process-group.ts';
import type { Variant } from './ids.ts';

const require = createRequire(import.meta.url);

/** The secrets and shared endpoints every stack of one run uses. */
export interface StackSettings {
  redisUrl: string;
  /** Every key the services write goes under it, deleted at the end. */
  keyPrefix: string;
  sinkUrl: string;
  internalToken: string;
  jwtSecret: string;
}

/** A running stack. */
export interface Stack {
  aiProxy: Child;
  aiProxyUrl: string;
  /** ai-proxy's Prometheus `/metrics`. */
  aiProxyMetricsUrl: string;
  gateway?: Child;
  gatewayUrl?: string;
  gatewayMetricsUrl?: string;
}

/**
 * The environment both services of a stack get: production mode, limits off, OTLP over
 * http/json to the sink (as compose, the Dockerfiles and the Kubernetes manifests set it), then the variant's
 * environment over it (an empty value replaces, not removes).
 */
export function serviceEnvironment(
  settings: StackSettings,
  variantEnv: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    // As the Dockerfiles run them; a variant may set its own.
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    ENVIRONMENT: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: settings.keyPrefix,
    INTERNAL_TOKEN: settings.internalToken,
    JWT_SECRET: settings.jwtSecret,
    RATE_LIMIT_AI_PER_MINUTE: '0',
    RATE_LIMIT_AI_PER_HOUR: '0',
    RATE_LIMIT_GENERAL_PER_MINUTE: '0',
    RATE_LIMIT_GENERAL_PER_HOUR: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: settings.sinkUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    ...variantEnv,
  };
}

/** The entry point of a service: this tree's (as its package resolves) or a baseline checkout's. */
function serviceMain(service: 'ai-proxy' | 'gateway', root: string | undefined): string {
  return root ? join(root, 'services', service, 'dist/main.js') : require.resolve(`@flashcase/${service}`);
}

export interface StartStackOptions {
  /** Prefix of the processes' names (`full`, `stock-http`, `base`). */
  name: string;
  upstreamUrl: string;
  upstreamKey: string;
  settings: StackSettings;
  variant: Variant;
  withGateway: boolean;
  /** Node flags added to the variant's (the soak's `--inspect`). */
  extraNodeArgs?: readonly string[];
}

/** Starts ai-proxy, then the gateway in front of it when asked, each on free loopback ports. */
export async function startStack(processes: ProcessGroup, options: StartStackOptions): Promise<Stack> {
  const { name, variant, settings } = options;
  const nodeArgs = [...(variant.nodeArgs ?? []), ...(options.extraNodeArgs ?? [])];
  const common = serviceEnvironment(settings, variant.env);
  const aiPort = await freePort();
  const aiMetricsPort = await freePort();
  const { child: aiProxy } = await processes.start(
    `${name}-ai-proxy`,
    [...nodeArgs, serviceMain('ai-proxy', variant.root)],
    /ai-proxy listening/,
    {
      ...common,
      PORT: String(aiPort),
      METRICS_PORT: String(aiMetricsPort),
      XAI_BASE_URL: options.upstreamUrl,
      XAI_API_KEY: options.upstreamKey,
    },
  );
  const stack: Stack = {
    aiProxy,
    aiProxyUrl: `http://127.0.0.1:${aiPort}`,
    aiProxyMetricsUrl: `http://127.0.0.1:${aiMetricsPort}/metrics`,
  };
  if (options.withGateway) {
    const gwPort = await freePort();
    const gwMetricsPort = await freePort();
    const { child } = await processes.start(
      `${name}-gateway`,
      [...nodeArgs, serviceMain('gateway', variant.root)],
      /gateway listening/,
      { ...common, PORT: String(gwPort), METRICS_PORT: String(gwMetricsPort), AI_PROXY_URL: stack.aiProxyUrl },
    );
    stack.gateway = child;
    stack.gatewayUrl = `http://127.0.0.1:${gwPort}`;
    stack.gatewayMetricsUrl = `http://127.0.0.1:${gwMetricsPort}/metrics`;
  }
  return stack;
}
