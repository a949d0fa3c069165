import type { Context } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { BatchLogRecordProcessor, type LogRecordProcessor, type ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { OtlpBatchOptions, OtlpExportTarget } from './otlp-env';

function exporterConfig(target: OtlpExportTarget) {
  return {
    url: target.url,
    // gRPC takes its headers as metadata, which its exporter reads from the environment itself.
    ...(target.protocol === 'grpc' ? {} : { headers: target.headers }),
    timeoutMillis: target.timeoutMillis,
    compression: target.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
}

/**
 * A processor made on first use. NOTE: the batch processors take the MeterProvider of their own
 * metrics (`otel.sdk.processor.*.processed`, with `error.type=queue_full` for what a full queue
 * drops) when they are constructed, and sdk-node registers its MeterProvider only after it was
 * given the processors; the first span or record comes after that.
 */
class LateSpanProcessor implements SpanProcessor {
  private inner: SpanProcessor | undefined;

  constructor(private readonly make: () => SpanProcessor) {}

  private get processor(): SpanProcessor {
    this.inner ??= this.make();
    return this.inner;
  }

  onStart(span: Span, parentContext: Context): void {
    this.processor.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.processor.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner?.shutdown() ?? Promise.resolve();
  }
}

/** {@link LateSpanProcessor}'s twin for log records. */
class LateLogRecordProcessor implements LogRecordProcessor {
  private inner: LogRecordProcessor | undefined;

  constructor(private readonly make: () => LogRecordProcessor) {}

  onEmit(record: ReadWriteLogRecord, context?: Context): void {
    this.inner ??= this.make();
    this.inner.onEmit(record, context);
  }

  forceFlush(): Promise<void> {
    return this.inner?.forceFlush() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner?.shutdown() ?? Promise.resolve();
  }
}

/**
 * The SDK's `BatchSpanProcessor` with the stock OTLP trace exporter of the target's protocol
 * (`exporter-trace-otlp-proto`, `-http` for JSON, `-grpc`).
 */
export function otlpSpanProcessor(target: OtlpExportTarget, options: OtlpBatchOptions): SpanProcessor {
  return new LateSpanProcessor(() => {
    const config = exporterConfig(target);
    const exporter =
      target.protocol === 'grpc'
        ? new GrpcTraceExporter(config)
        : target.protocol === 'http/json'
          ? new JsonTraceExporter(config)
          : new ProtoTraceExporter(config);
    return new BatchSpanProcessor({ exporter, ...options, selfObsMeterProvider: metrics.getMeterProvider() });
  });
}

/** The SDK's `BatchLogRecordProcessor` with the stock OTLP log exporter of the target's protocol. */
export function otlpLogRecordProcessor(target: OtlpExportTarget, options: OtlpBatchOptions): LogRecordProcessor {
  return new LateLogRecordProcessor(() => {
    const config = exporterConfig(target);
    const exporter =
      target.protocol === 'grpc'
        ? new GrpcLogExporter(config)
        : target.protocol === 'http/json'
          ? new JsonLogExporter(config)
          : new ProtoLogExporter(config);
    return new BatchLogRecordProcessor({ exporter, ...options, selfObsMeterProvider: metrics.getMeterProvider() });
  });
}
