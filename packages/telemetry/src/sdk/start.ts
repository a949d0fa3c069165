import { createNoopMeter, type MeterProvider, metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { getLogger, useWinstonPipeline } from '../logging/logger';
import { LOG_SCOPE, useDirectLogPath } from '../logging/otlp-transport';
import { METER_NAME } from '../metrics/instruments';
import { registerProcessMetrics } from '../metrics/process';
import { installDiagLogger } from './diag';
import { otlpProtocol, stockLogRecordProcessor, stockSpanProcessor } from './exporters';
import {
  type OtlpBatchOptions,
  OtlpJsonLogRecordProcessor,
  OtlpJsonSpanProcessor,
  otlpExportTarget,
  positiveInt,
} from './otlp-json';

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  return positiveInt(env[name]);
}

/**
 * The batch settings of the spec's `OTEL_BSP_*` / `OTEL_BLRP_*` variables (unset or invalid: the
 * spec's defaults). NOTE: sdk-node 0.301 reads them only for processors it builds itself; ours are
 * built here.
 */
function batchOptions(env: NodeJS.ProcessEnv, prefix: 'OTEL_BSP' | 'OTEL_BLRP'): OtlpBatchOptions {
  const options: OtlpBatchOptions = {};
  const scheduledDelayMillis = envInt(env, `${prefix}_SCHEDULE_DELAY`);
  const exportTimeoutMillis = envInt(env, `${prefix}_EXPORT_TIMEOUT`);
  const maxQueueSize = envInt(env, `${prefix}_MAX_QUEUE_SIZE`);
  const maxExportBatchSize = envInt(env, `${prefix}_MAX_EXPORT_BATCH_SIZE`);
  if (scheduledDelayMillis !== undefined) options.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) options.exportTimeoutMillis = exportTimeoutMillis;
  if (maxQueueSize !== undefined) options.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize !== undefined) options.maxExportBatchSize = maxExportBatchSize;
  return options;
}

/**
 * The instrumentations a service may run, by the names `OTEL_NODE_ENABLED_INSTRUMENTATIONS` and
 * `OTEL_NODE_DISABLED_INSTRUMENTATIONS` use (the package name without `@opentelemetry/instrumentation-`).
 *
 * NOTE: there is no instrumentation-http: the SERVER span of a request comes from the shared express
 * middleware (`http/server-span.ts`, a third of the CPU it cost), and the services make no outgoing
 * node:http calls worth a span (the upstream and gateway clients are undici, with spans of their
 * own; the OTLP exports are not traced).
 */
const AVAILABLE_INSTRUMENTATIONS = new Map<string, () => Instrumentation>([
  // One span per route handler, none per middleware or router layer. With Express 5 it is named
  // just `request handler` (the route is its `http.route` attribute).
  [
    'express',
    () => new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
  ],
  ['ioredis', () => new IORedisInstrumentation({ requireParentSpan: true })],
  ['runtime-node', () => new RuntimeNodeInstrumentation()],
  // `system.network.io` (errors, dropped) of the default interface of the process's network
  // namespace: in a container, its own traffic. Only the network group: process CPU and memory
  // are ours (metrics/process.ts), one series each.
  ['host-metrics', () => new HostMetricsInstrumentation({ metricGroups: ['system.network'] })],
  // The stock SERVER spans (`FLASHCASE_OTEL_STOCK=http`); the shared middleware then names them
  // by route instead of making its own. Prometheus scrapes are not traced.
  [
    'http',
    () =>
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => req.url === '/metrics',
        disableOutgoingRequestInstrumentation: true,
      }),
  ],
]);

/** The parts of the pipeline `FLASHCASE_OTEL_STOCK` (a comma list) hands back to the stock libraries. */
export interface StockParts {
  /** The SDK's batch processors and the stock OTLP exporters, whatever the protocol. */
  export: boolean;
  /** `@opentelemetry/instrumentation-http`'s SERVER spans. */
  http: boolean;
  /** winston's own pipeline and `@opentelemetry/winston-transport`. */
  logs: boolean;
}

export function stockParts(env: NodeJS.ProcessEnv): StockParts {
  const names = new Set(nameList(env.FLASHCASE_OTEL_STOCK));
  const all = names.has('all');
  return { export: all || names.has('export'), http: all || names.has('http'), logs: all || names.has('logs') };
}

/**
 * Off unless enabled by name. The express route-handler span repeats what the SERVER span already
 * says (route template, timing) and its per-layer wrapper cost a tenth to a fifth of ai-proxy's CPU
 * (measured with `pnpm bench`); `OTEL_NODE_ENABLED_INSTRUMENTATIONS=express,ioredis,runtime-node,host-metrics`
 * brings it back.
 */
const DEFAULT_INSTRUMENTATIONS = ['ioredis', 'runtime-node', 'host-metrics'];

function nameList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * The instrumentations to run, as the Node auto-instrumentation package reads the same variables:
 * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` (only these) applies first, then
 * `OTEL_NODE_DISABLED_INSTRUMENTATIONS` (not these); a name in both is disabled. Unknown names are
 * reported once and ignored.
 */
function selectInstrumentations(
  env: NodeJS.ProcessEnv,
  log: { warn(message: string): void } = getLogger('telemetry'),
): Instrumentation[] {
  const enabled = nameList(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) ?? DEFAULT_INSTRUMENTATIONS;
  const disabled = new Set(nameList(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  const unknown = [...enabled, ...disabled].filter((name) => !AVAILABLE_INSTRUMENTATIONS.has(name));
  if (unknown.length > 0) {
    log.warn(
      `unknown instrumentation names ignored: ${unknown.join(', ')} (known: ${[...AVAILABLE_INSTRUMENTATIONS.keys()].join(', ')})`,
    );
  }
  const selected: Instrumentation[] = [];
  for (const name of new Set(enabled)) {
    const create = AVAILABLE_INSTRUMENTATIONS.get(name);
    if (create && !disabled.has(name)) selected.push(create());
  }
  return selected;
}

function enabledWithHttp(env: NodeJS.ProcessEnv): string {
  return [...(nameList(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) ?? DEFAULT_INSTRUMENTATIONS), 'http'].join(',');
}

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() };

/** The spec's log record limits; with any of them set, records go through the SDK's own handling. */
const LOG_LIMIT_VARIABLES = [
  'OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT',
  'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT',
];

export interface TelemetryOptions {
  /** `service.name`, e.g. `flashcase-gateway`; `OTEL_SERVICE_NAME` wins when set. */
  serviceName: string;
  serviceVersion: string;
  /** `deployment.environment.name`. */
  environment: string;
  /** Prometheus `/metrics` listener; port 0 = off. */
  metrics?: { port: number; host?: string };
  /** Extra span processors (tests pass an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** Extra metric readers (tests pass an in-memory reader). */
  metricReaders?: IMetricReader[];
  /** Extra log record processors. */
  logRecordProcessors?: LogRecordProcessor[];
  /** Replaces the instrumentations `selectInstrumentations` picks from the environment. */
  instrumentations?: Instrumentation[];
  /** The `OTEL_*` variables to honour; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** Resolves when the `/metrics` listener is up (or failed, which is logged, not thrown). */
  ready: Promise<void>;
  /** The `/metrics` URL when the listener is up. */
  metricsUrl: string | undefined;
  /** Flushes spans, logs and metrics, stops the listener. Never rejects. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for one service; call before anything that should be instrumented
 * (`express`, `ioredis`, `http`) is required.
 *
 * - Traces and logs go over OTLP/HTTP (JSON, see `otlp-json.ts`) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the signal-specific
 *   variant) is set; `OTEL_TRACES_EXPORTER`/`OTEL_LOGS_EXPORTER` set explicitly are left to the SDK.
 *   Without an exporter spans are still created, so logs carry trace ids and context propagates.
 * - The sampler, propagators, limits and resource attributes follow the `OTEL_*` variables;
 *   `OTEL_SDK_DISABLED=true` turns everything into no-ops.
 * - HTTP server spans and `http.server.request.duration` come from the shared express middleware
 *   (`createServiceApp`), named and labelled by the route template.
 * - A `/metrics` port already in use is logged as an error and the service goes on without it.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const { serviceName, serviceVersion, environment, env = process.env } = options;
  const log = getLogger('telemetry');

  const metricsPort = options.metrics?.port ?? 0;
  const metricsHost = options.metrics?.host ?? '127.0.0.1';
  const prometheus =
    metricsPort > 0
      ? new PrometheusExporter({ host: metricsHost, port: metricsPort, preventServerStart: true })
      : undefined;

  const stock = stockParts(env);
  // Our exporter speaks http/json; every other protocol (and `FLASHCASE_OTEL_STOCK=export`) goes
  // through the SDK's batch processors and the stock exporters.
  const tracesProtocol = otlpProtocol(env, 'traces');
  const logsProtocol = otlpProtocol(env, 'logs');
  const ownTraces = tracesProtocol === 'http/json' && !stock.export;
  const ownLogs = logsProtocol === 'http/json' && !stock.export;
  const traceTarget = env.OTEL_TRACES_EXPORTER || !ownTraces ? undefined : otlpExportTarget(env, 'traces');
  const logTarget = env.OTEL_LOGS_EXPORTER || !ownLogs ? undefined : otlpExportTarget(env, 'logs');
  const stockSpans =
    env.OTEL_TRACES_EXPORTER || ownTraces
      ? undefined
      : stockSpanProcessor(env, tracesProtocol, batchOptions(env, 'OTEL_BSP'));
  const stockLogs =
    env.OTEL_LOGS_EXPORTER || ownLogs
      ? undefined
      : stockLogRecordProcessor(env, logsProtocol, batchOptions(env, 'OTEL_BLRP'));

  const spanProcessors: SpanProcessor[] | undefined = env.OTEL_TRACES_EXPORTER
    ? undefined
    : [
        ...(traceTarget ? [new OtlpJsonSpanProcessor(traceTarget, batchOptions(env, 'OTEL_BSP'))] : []),
        ...(stockSpans ? [stockSpans] : []),
        ...(options.spanProcessors ?? []),
      ];
  // NOTE: an empty list would mean "no TracerProvider"; we want spans (ids in logs, propagation)
  // even when nothing exports them.
  if (spanProcessors && spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  // Our processor alone (the usual case): records from the winston transport skip the SDK's logger
  // (see `OtlpJsonLogRecordProcessor.emitDirect`), unless a limit variable asks for the SDK's
  // attribute handling (the default count limit of 128 is applied by the transport).
  const directLogs =
    logTarget !== undefined &&
    !stock.logs &&
    !env.OTEL_LOGS_EXPORTER &&
    (options.logRecordProcessors ?? []).length === 0 &&
    !LOG_LIMIT_VARIABLES.some((name) => env[name] !== undefined || process.env[name] !== undefined);
  const logProcessor = logTarget
    ? new OtlpJsonLogRecordProcessor(logTarget, batchOptions(env, 'OTEL_BLRP'), directLogs ? LOG_SCOPE : undefined)
    : undefined;
  const logRecordProcessors: LogRecordProcessor[] | undefined = env.OTEL_LOGS_EXPORTER
    ? undefined
    : [
        ...(logProcessor ? [logProcessor] : []),
        ...(stockLogs ? [stockLogs] : []),
        ...(options.logRecordProcessors ?? []),
      ];

  const instrumentations =
    options.instrumentations ??
    selectInstrumentations(
      stock.http ? { ...env, OTEL_NODE_ENABLED_INSTRUMENTATIONS: enabledWithHttp(env) } : env,
      log,
    );

  const resourceAttributes: Record<string, string> = {
    'service.version': serviceVersion,
    'deployment.environment.name': environment,
  };
  if (!env.OTEL_SERVICE_NAME) resourceAttributes['service.name'] = serviceName;

  const sdk = startNodeSdk({
    resourceAttributes,
    ...(spanProcessors ? { spanProcessors } : {}),
    ...(logRecordProcessors ? { logRecordProcessors } : {}),
    metricReaders: [...(prometheus ? [prometheus] : []), ...(options.metricReaders ?? [])],
    instrumentations,
  });

  if (directLogs) useDirectLogPath(logProcessor);
  if (stock.logs) useWinstonPipeline(true);
  for (const instrumentation of instrumentations) {
    // Its `http.server.request.duration` would be a second series of ours (request-telemetry).
    if (instrumentation instanceof HttpInstrumentation) instrumentation.setMeterProvider(NOOP_METER_PROVIDER);
  }

  // After the SDK, which installs a console diag logger of its own.
  installDiagLogger(log);
  registerProcessMetrics(metrics.getMeter(METER_NAME));

  const telemetry: Telemetry = {
    metricsUrl: undefined,
    ready: Promise.resolve(),
    async shutdown() {
      if (directLogs) useDirectLogPath(undefined);
      if (stock.logs) useWinstonPipeline(false);
      try {
        await sdk.shutdown();
      } catch (err) {
        log.warn('OpenTelemetry shutdown failed', { err });
      }
    },
  };
  if (prometheus) {
    telemetry.ready = prometheus.startServer().then(
      () => {
        const shownHost = metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost;
        telemetry.metricsUrl = `http://${shownHost}:${metricsPort}/metrics`;
      },
      (err: unknown) => {
        log.error(`Prometheus /metrics listener could not start on ${metricsHost}:${metricsPort}`, { err });
      },
    );
  }
  return telemetry;
}
