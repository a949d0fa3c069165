import { diag } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { BatchLogRecordProcessor, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { type OtlpBatchOptions, type OtlpSignal, otlpExportTarget } from './otlp-json';

/** The transports of the spec's `OTEL_EXPORTER_OTLP_PROTOCOL`. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/**
 * The protocol of one signal: `OTEL_EXPORTER_OTLP_{TRACES|LOGS}_PROTOCOL`, else
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, else the spec's default `http/protobuf`. An unknown value is
 * reported and the default used (the services' config refuses it before this runs).
 */
export function otlpProtocol(env: NodeJS.ProcessEnv, signal: OtlpSignal): OtlpProtocol {
  const raw =
    env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`]?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim();
  if (!raw) return 'http/protobuf';
  const value = raw.toLowerCase();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
  diag.warn(`OTLP ${signal}: unknown protocol ${raw} (known: ${OTLP_PROTOCOLS.join(', ')}); using http/protobuf`);
  return 'http/protobuf';
}

/**
 * The gRPC endpoint of one signal, used as is (gRPC has no `/v1/...` path): the signal-specific
 * variable, else the generic one. Undefined when neither is set.
 */
function grpcEndpoint(env: NodeJS.ProcessEnv, signal: OtlpSignal): string | undefined {
  return (
    env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim() ||
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ||
    undefined
  );
}

type ExporterConfig = {
  url: string;
  headers?: Record<string, string>;
  timeoutMillis: number;
  compression: CompressionAlgorithm;
};

/** The stock exporter's settings for an HTTP protocol (endpoint, headers, timeout, compression). */
function httpConfig(env: NodeJS.ProcessEnv, signal: OtlpSignal): ExporterConfig | undefined {
  const target = otlpExportTarget(env, signal);
  if (!target) return undefined;
  return {
    url: target.url.href,
    headers: target.headers,
    timeoutMillis: target.timeoutMillis,
    compression: target.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
}

/** The gRPC exporter's settings; its headers (metadata) it reads from the environment itself. */
function grpcConfig(env: NodeJS.ProcessEnv, signal: OtlpSignal): ExporterConfig | undefined {
  const url = grpcEndpoint(env, signal);
  if (!url) return undefined;
  const target = otlpExportTarget({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: url }, signal);
  return {
    url,
    timeoutMillis: target?.timeoutMillis ?? 10_000,
    compression: target?.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
}

/**
 * The SDK's `BatchSpanProcessor` with the stock OTLP trace exporter of `protocol`. Undefined when
 * no endpoint is configured for traces.
 */
export function stockSpanProcessor(
  env: NodeJS.ProcessEnv,
  protocol: OtlpProtocol,
  options: OtlpBatchOptions,
): SpanProcessor | undefined {
  const config = protocol === 'grpc' ? grpcConfig(env, 'traces') : httpConfig(env, 'traces');
  if (!config) return undefined;
  const exporter =
    protocol === 'grpc'
      ? new GrpcTraceExporter(config)
      : protocol === 'http/json'
        ? new JsonTraceExporter(config)
        : new ProtoTraceExporter(config);
  return new BatchSpanProcessor({ exporter, ...options });
}

/**
 * The SDK's `BatchLogRecordProcessor` with the stock OTLP log exporter of `protocol`. Undefined
 * when no endpoint is configured for logs.
 */
export function stockLogRecordProcessor(
  env: NodeJS.ProcessEnv,
  protocol: OtlpProtocol,
  options: OtlpBatchOptions,
): LogRecordProcessor | undefined {
  const config = protocol === 'grpc' ? grpcConfig(env, 'logs') : httpConfig(env, 'logs');
  if (!config) return undefined;
  const exporter =
    protocol === 'grpc'
      ? new GrpcLogExporter(config)
      : protocol === 'http/json'
        ? new JsonLogExporter(config)
        : new ProtoLogExporter(config);
  return new BatchLogRecordProcessor({ exporter, ...options });
}
