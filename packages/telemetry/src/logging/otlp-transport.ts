import {
  type AnyValue,
  type Attributes,
  isSpanContextValid,
  logs,
  ROOT_CONTEXT,
  SeverityNumber,
  type SpanContext,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import TransportStream from 'winston-transport';
import { TRACE_FLAGS } from './fields';

/** The instrumentation scope of the log records this transport emits. */
export const LOG_SCOPE = '@flashcase/telemetry';

const SEVERITY: Record<string, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  http: SeverityNumber.DEBUG4,
  debug: SeverityNumber.DEBUG,
};

// Carried by the log record itself (body, severity, timestamp, trace context), not as attributes.
const RECORD_FIELDS = new Set(['level', 'message', 'timestamp', 'trace_id', 'span_id']);

function toAttributeValue(value: unknown): AnyValue {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

/**
 * Sends each winston record once to the OpenTelemetry Logs API (and so over OTLP when the SDK has a
 * log exporter). It receives records after the logger's formats ran, so they are already redacted
 * and carry `trace_id`/`span_id`.
 *
 * NOTE: `@opentelemetry/winston-transport` 0.34 talks to the `@opentelemetry/api-logs` 0.223 global,
 * while `@opentelemetry/sdk-node` 0.301 registers its LoggerProvider on `@opentelemetry/api` 1.10's
 * `logs`: its records reach an exporter only through a bridge (`useWinstonPipeline`). This transport
 * uses the API the SDK uses, and costs less (docs/adr/0003).
 */
export class OtlpLogTransport extends TransportStream {
  private readonly otelLogger = logs.getLogger(LOG_SCOPE);

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    try {
      const attributes: Attributes = {};
      for (const key in info) {
        const value = info[key];
        // The SDK drops an empty key (with a warning); a record never has one worth keeping.
        if (RECORD_FIELDS.has(key) || value === undefined || key === '') continue;
        attributes[key] = toAttributeValue(value) as Attributes[string];
      }
      const level = String(info.level);
      const severityNumber = SEVERITY[level] ?? SeverityNumber.INFO;
      const severityText = level.toUpperCase();
      const body = String(info.message ?? '');
      const spanContext = spanContextOf(info);
      const time = typeof info.timestamp === 'string' ? new Date(info.timestamp) : new Date();
      this.otelLogger.emit({
        severityNumber,
        severityText,
        body,
        attributes,
        context: spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT,
        timestamp: time,
      });
    } catch {
      // Telemetry never takes the host down: a failed emit loses this one OTLP copy only.
    }
    callback();
  }
}

/**
 * The record's trace context: the ids the logger's format took from the active span (it marks them
 * with the trace flags), or ids a caller put on the record itself if they are valid ones.
 */
function spanContextOf(info: Record<string | symbol, unknown>): SpanContext | undefined {
  const traceId = info.trace_id;
  const spanId = info.span_id;
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  const flags = info[TRACE_FLAGS];
  if (typeof flags === 'number') return { traceId, spanId, traceFlags: flags };
  const context: SpanContext = { traceId, spanId, traceFlags: TraceFlags.NONE };
  return isSpanContextValid(context) ? context : undefined;
}
