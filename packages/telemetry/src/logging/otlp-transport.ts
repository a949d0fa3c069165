import {
  type AnyValue,
  type Attributes,
  logs,
  ROOT_CONTEXT,
  SeverityNumber,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import TransportStream from 'winston-transport';
import { TRACE_FLAGS } from './fields';

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
 * `logs`: records sent through it never reach the exporter. This transport uses the API the SDK uses.
 */
export class OtlpLogTransport extends TransportStream {
  private readonly otelLogger = logs.getLogger('@flashcase/telemetry');

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    try {
      const attributes: Attributes = {};
      for (const key in info) {
        const value = info[key];
        if (RECORD_FIELDS.has(key) || value === undefined) continue;
        attributes[key] = toAttributeValue(value) as Attributes[string];
      }
      const level = String(info.level);
      const traceId = info.trace_id;
      const spanId = info.span_id;
      const context =
        typeof traceId === 'string' && typeof spanId === 'string'
          ? trace.setSpanContext(ROOT_CONTEXT, {
              traceId,
              spanId,
              traceFlags: (info[TRACE_FLAGS] as number | undefined) ?? TraceFlags.NONE,
            })
          : ROOT_CONTEXT;
      this.otelLogger.emit({
        severityNumber: SEVERITY[level] ?? SeverityNumber.INFO,
        severityText: level.toUpperCase(),
        body: String(info.message ?? ''),
        attributes,
        context,
        timestamp: typeof info.timestamp === 'string' ? new Date(info.timestamp) : new Date(),
      });
    } catch {
      // Telemetry never takes the host down: a failed emit loses this one OTLP copy only.
    }
    callback();
  }
}
