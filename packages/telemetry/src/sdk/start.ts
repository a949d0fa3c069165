import { createNoopMeter, type MeterProvider, metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import { startNodeSdk } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { getLogger, useWinstonPipeline } from '../logging/logger';
import { METER_NAME } from '../metrics/instruments';
import { registerProcessMetrics } from '../metrics/process';
import { installDiagLogger } from './diag';
import { otlpLogRecordProcessor, otlpSpanProcessor } from './exporters';
import { selectInstrumentations, stockParts } from './instrumentations';
import { batchOptions, otlpExportTarget } from './otlp-env';

const NOOP_METER_PROVIDER: MeterProvider = { getMeter: () => createNoopMeter() };

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
 * - Traces and logs go out through the SDK's batch processors and the stock OTLP exporters when
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` (or the signal-specific variant) is set, over the protocol of
 *   `OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]PROTOCOL` (`http/protobuf` by default, `http/json`, `grpc`);
 *   a full queue drops and counts it (`otel.sdk.processor.*.processed{error.type=queue_full}`).
 *   `OTEL_TRACES_EXPORTER`/`OTEL_LOGS_EXPORTER` set explicitly are left to the SDK. Without an
 *   exporter spans are still created, so logs carry trace ids and context propagates.
 * - The sampler, propagators, limits and resource attributes follow the `OTEL_*` variables;
 *   `OTEL_SDK_DISABLED=true` turns everything into no-ops.
 * - HTTP server spans and `http.server.request.duration` come from the shared express middleware
 *   (`createServiceApp`), named and labelled by the route template (`FLASHCASE_OTEL_STOCK=http`:
 *   the spans from `@opentelemetry/instrumentation-http`, named by the same middleware).
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

  const stock = stockParts(env, log);
  const traceTarget = env.OTEL_TRACES_EXPORTER ? undefined : otlpExportTarget(env, 'traces');
  const logTarget = env.OTEL_LOGS_EXPORTER ? undefined : otlpExportTarget(env, 'logs');

  const spanProcessors: SpanProcessor[] | undefined = env.OTEL_TRACES_EXPORTER
    ? undefined
    : [
        ...(traceTarget ? [otlpSpanProcessor(traceTarget, batchOptions(env, 'OTEL_BSP'))] : []),
        ...(options.spanProcessors ?? []),
      ];
  // NOTE: an empty list would mean "no TracerProvider"; we want spans (ids in logs, propagation)
  // even when nothing exports them.
  if (spanProcessors && spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const logRecordProcessors: LogRecordProcessor[] | undefined = env.OTEL_LOGS_EXPORTER
    ? undefined
    : [
        ...(logTarget ? [otlpLogRecordProcessor(logTarget, batchOptions(env, 'OTEL_BLRP'))] : []),
        ...(options.logRecordProcessors ?? []),
      ];

  const instrumentations = options.instrumentations ?? selectInstrumentations(env, stock, log);

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
