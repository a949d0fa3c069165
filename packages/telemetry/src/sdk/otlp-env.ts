import { diag } from '@opentelemetry/api';

/** The signals exported over OTLP (metrics are scraped by Prometheus). */
export type OtlpSignal = 'traces' | 'logs';

/** The transports of the spec's `OTEL_EXPORTER_OTLP_PROTOCOL`. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Where and how one signal is exported. */
export interface OtlpExportTarget {
  protocol: OtlpProtocol;
  /** `.../v1/traces` for HTTP; the endpoint as given for gRPC (it has no path). */
  url: string;
  /** `OTEL_EXPORTER_OTLP_[SIGNAL_]HEADERS`; for gRPC the exporter reads them itself, as metadata. */
  headers: Record<string, string>;
  timeoutMillis: number;
  gzip: boolean;
}

/** The batch settings of the spec's `OTEL_BSP_*` / `OTEL_BLRP_*` variables. */
export interface OtlpBatchOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

/** A positive integer `OTEL_*` value, or undefined (unset or invalid: the spec's default applies). */
export function positiveInt(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  const value = Number(raw);
  return value > 0 ? value : undefined;
}

function signalEnv(env: NodeJS.ProcessEnv, signal: OtlpSignal, name: string): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_${name}`]?.trim();
  if (specific) return specific;
  return env[`OTEL_EXPORTER_OTLP_${name}`]?.trim() || undefined;
}

/** `key1=value1,key2=value2` with URL-encoded parts (the spec's header list); bad pairs are skipped. */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      const key = decodeURIComponent(pair.slice(0, eq).trim());
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      if (key) headers[key] = value;
    } catch {
      // a malformed escape: skip the pair, as the SDK does
    }
  }
  return headers;
}

/**
 * The protocol of one signal: `OTEL_EXPORTER_OTLP_{TRACES|LOGS}_PROTOCOL`, else
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, else the spec's default `http/protobuf`. An unknown value is
 * reported and the default used (the services' config refuses it before this runs).
 */
export function otlpProtocol(env: NodeJS.ProcessEnv, signal: OtlpSignal): OtlpProtocol {
  const raw = signalEnv(env, signal, 'PROTOCOL');
  if (!raw) return 'http/protobuf';
  const value = raw.toLowerCase();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
  diag.warn(`OTLP ${signal}: unknown protocol ${raw} (known: ${OTLP_PROTOCOLS.join(', ')}); using http/protobuf`);
  return 'http/protobuf';
}

/**
 * Where and how one signal is exported, from the `OTEL_EXPORTER_OTLP_*` variables, as the spec
 * resolves them: a signal-specific endpoint is used as is; the generic one gets `/v1/traces` or
 * `/v1/logs` appended over HTTP, and nothing over gRPC. Undefined when neither endpoint is set or
 * the endpoint is not an http(s) URL (reported once).
 */
export function otlpExportTarget(env: NodeJS.ProcessEnv, signal: OtlpSignal): OtlpExportTarget | undefined {
  const protocol = otlpProtocol(env, signal);
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  const generic = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  let url: URL;
  try {
    if (specific) url = new URL(specific);
    else if (generic) url = new URL(protocol === 'grpc' ? generic : `${generic.replace(/\/+$/, '')}/v1/${signal}`);
    else return undefined;
  } catch {
    diag.warn(`OTLP ${signal} endpoint is not a URL: ${specific ?? generic}`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    diag.warn(`OTLP ${signal} endpoint must be http(s): ${url.href}`);
    return undefined;
  }
  return {
    protocol,
    url: protocol === 'grpc' ? (specific ?? generic ?? url.href) : url.href,
    headers: parseOtlpHeaders(signalEnv(env, signal, 'HEADERS')),
    timeoutMillis: positiveInt(signalEnv(env, signal, 'TIMEOUT')) ?? 10_000,
    gzip: signalEnv(env, signal, 'COMPRESSION') === 'gzip',
  };
}

/**
 * The batch settings of `OTEL_BSP_*` (traces) or `OTEL_BLRP_*` (logs); unset or invalid values are
 * left out, so the SDK's defaults apply. NOTE: sdk-node reads them only for processors it builds
 * itself; ours are built by `startTelemetry`.
 */
export function batchOptions(env: NodeJS.ProcessEnv, prefix: 'OTEL_BSP' | 'OTEL_BLRP'): OtlpBatchOptions {
  const options: OtlpBatchOptions = {};
  const scheduledDelayMillis = positiveInt(env[`${prefix}_SCHEDULE_DELAY`]);
  const exportTimeoutMillis = positiveInt(env[`${prefix}_EXPORT_TIMEOUT`]);
  const maxQueueSize = positiveInt(env[`${prefix}_MAX_QUEUE_SIZE`]);
  const maxExportBatchSize = positiveInt(env[`${prefix}_MAX_EXPORT_BATCH_SIZE`]);
  if (scheduledDelayMillis !== undefined) options.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) options.exportTimeoutMillis = exportTimeoutMillis;
  if (maxQueueSize !== undefined) options.maxQueueSize = maxQueueSize;
  if (maxExportBatchSize !== undefined) options.maxExportBatchSize = maxExportBatchSize;
  return options;
}
