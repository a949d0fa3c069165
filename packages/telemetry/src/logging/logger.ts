import { logs, trace } from '@opentelemetry/api';
import { logs as bridgedLogs } from '@opentelemetry/api-logs';
import { OpenTelemetryTransportV3 } from '@opentelemetry/winston-transport';
import { LEVEL } from 'triple-beam';
import winston from 'winston';
import { type Callsite, captureCallsite } from './callsite';
import { enrich, humanLine, jsonLine } from './formats';
import { LineTransport } from './line-transport';
import { OtlpLogTransport } from './otlp-transport';
import { state } from './state';

/** The log levels of the contract, most severe first (winston's npm order, without the extras). */
export const LOG_LEVELS = { error: 0, warn: 1, info: 2, http: 3, debug: 4 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;
export type Environment = 'development' | 'production' | 'test';
export type Logger = winston.Logger;

export interface LoggingOptions {
  environment: Environment;
  /** Lowest level written; defaults to `info`. */
  logLevel?: LogLevel;
  /** Added to every record as `service` (the OTel `service.name`). */
  serviceName?: string;
  /** `LOG_SAMPLE_RATE`: fraction of routine request logs kept (0..1); defaults to 1. */
  sampleRate?: number;
  /** `LOG_AI_CONTENT`: keep prompt and completion text; defaults to false. */
  logAIContent?: boolean;
  /** Where lines go; defaults to stdout (written once per event-loop turn). Tests pass their own stream. */
  stream?: NodeJS.WritableStream;
  /** Also send records to the OpenTelemetry Logs API (OTLP when configured); defaults to true. */
  otlp?: boolean;
  /** ANSI colours in development lines; defaults to true. */
  colors?: boolean;
}

const root = winston.createLogger({
  levels: LOG_LEVELS,
  level: 'info',
  format: enrich(),
  transports: [new LineTransport(process.stdout, jsonLine(), true)],
  exitOnError: false,
});

/**
 * Configures the process-wide logger; call once at start-up (calling again reconfigures every
 * logger already handed out by {@link getLogger}). Development writes coloured human lines,
 * production and test one JSON object per line. Every record is redacted (secrets at any depth,
 * card numbers, bearer tokens, prompt text unless `logAIContent`) before any sink sees it, and is
 * sent once to the OpenTelemetry Logs API unless `otlp: false`.
 */
export function setupLogging(options: LoggingOptions): Logger {
  const {
    environment,
    logLevel = 'info',
    serviceName,
    sampleRate = 1,
    logAIContent = false,
    stream = process.stdout,
    otlp = true,
    colors = true,
  } = options;
  state.sampleRate = Math.min(1, Math.max(0, sampleRate));
  state.keepAIContent = logAIContent;
  state.callsite = environment === 'production';
  state.serviceName = serviceName;
  state.stream = stream;
  state.lineFormat = environment === 'development' ? humanLine(colors) : jsonLine();
  state.otlp = otlp;
  root.level = logLevel;
  configureTransports();
  return root;
}

function configureTransports(): void {
  const { stream, otlp } = state;
  const lineFormat = state.lineFormat ?? jsonLine();
  const transports: winston.transport[] = state.winstonPipeline
    ? [new winston.transports.Stream({ stream, format: lineFormat })]
    : [new LineTransport(stream, lineFormat, stream === process.stdout)];
  if (otlp) transports.push(state.winstonPipeline ? new OpenTelemetryTransportV3() : new OtlpLogTransport());
  for (const old of root.transports) if (old instanceof LineTransport) old.close();
  root.configure({ levels: LOG_LEVELS, level: root.level, format: enrich(), transports, exitOnError: false });
}

/**
 * Switches every logger to winston's own pipeline (its object streams, a `Stream` transport for
 * lines and `@opentelemetry/winston-transport` for OTLP) or back; `FLASHCASE_OTEL_STOCK=logs`
 * measures what ours saves.
 *
 * NOTE: `@opentelemetry/winston-transport` 0.34 emits through the `@opentelemetry/api-logs`
 * 0.223 global, a different one from the `logs` of `@opentelemetry/api` 1.10 where sdk-node 0.301
 * registers its LoggerProvider: without the bridge below its records never reach an exporter.
 */
export function useWinstonPipeline(on: boolean): void {
  if (on) {
    bridgedLogs.setGlobalLoggerProvider(
      logs.getLoggerProvider() as Parameters<typeof bridgedLogs.setGlobalLoggerProvider>[0],
    );
  } else {
    bridgedLogs.disable();
  }
  state.winstonPipeline = on;
  configureTransports();
}

/** Frames between a log call and the child's `write`: the level method or `log`, our wrappers, the caller. */
const CALLSITE_FRAMES = 3;

const noop = () => {};

/**
 * Hands one record to the root logger's format and to each transport whose level admits it, as
 * winston's own stream pipeline does, without that pipeline.
 *
 * NOTE: winston passes every record through an object-mode Transform and one Writable per
 * transport (readable-stream, with a copy of the record and a buffered-request object at each
 * step); under load that machinery was a quarter of ai-proxy's allocations. The semantics kept:
 * the logger format runs once, each transport gets its own copy through its own format, a
 * transport's level (or else the logger's) filters, a silent transport gets nothing.
 */
function dispatch(info: Record<string | symbol, unknown>): void {
  if (root.silent) return;
  info[LEVEL] ??= info.level;
  const levels = root.levels as Record<string, number>;
  const severity = levels[info[LEVEL] as string];
  if (severity === undefined) return;
  const formatted = root.format.transform(info as winston.Logform.TransformableInfo, root.format.options);
  if (!formatted || typeof formatted !== 'object') return;
  for (const transport of root.transports) {
    if (transport.silent) continue;
    const level = transport.level || root.level;
    if (level && (levels[level] ?? Number.POSITIVE_INFINITY) < severity) continue;
    const out = transport.format ? transport.format.transform({ ...formatted }, transport.format.options) : formatted;
    if (out && typeof out === 'object') transport.log?.(out, noop);
  }
}

/**
 * A named logger (`gateway.http`, `ai-proxy.usage`); the name is the record's `logger` field.
 *
 * In production the callsite (`module`, `function`, `line`) is taken here, at the child's `write`,
 * a few frames above the caller: from inside the format it cost a 30-frame stack capture per record
 * (about 35 µs, the dearest part of a log line). Records go straight to the transports
 * ({@link dispatch}).
 */
export function getLogger(name: string): Logger {
  const child = root.child({ logger: name });
  // NOTE: winston's child defines `write` read-only; a thin object over it carries ours.
  return Object.create(child, {
    write: {
      value: function writeWithCallsite(this: Logger, info: Record<string, unknown>) {
        if (state.winstonPipeline) {
          child.write(info);
          return;
        }
        // NOTE: winston made `info` for this call alone, so it is completed in place. A copy
        // (`{ logger, ...info }`) fell off V8's fast path once a record had more than about 25
        // fields, and doubled the cost of the AI usage record (6.6 -> 13.7 us a line, measured).
        let record: Record<string | symbol, unknown> = info;
        if (info instanceof Error) {
          // An Error's message and stack are not own enumerable fields: copied onto a plain record.
          record = { ...info, message: info.message, stack: info.stack, cause: info.cause };
        }
        record.logger = name;
        // The symbols winston's level methods set ([LEVEL], [SPLAT]) are own properties: spread copies them.
        if (state.callsite && record.module === undefined) {
          const site = captureCallsite(writeWithCallsite, CALLSITE_FRAMES);
          if (site) {
            record.module = site.module;
            record.function = site.function;
            record.line = site.line;
          }
        }
        dispatch(record);
      },
    },
  }) as Logger;
}

/** Whether records carry the callsite (`module`, `function`, `line`): production JSON lines. */
export function callsitesWanted(): boolean {
  return state.callsite;
}

/**
 * The callsite fields of a wrapper's record, captured once per wrapper instance when `oneCallsite`
 * says the instance is only ever called from one place (the request middleware, the usage
 * accounting): a stack capture costs tens of µs in a loaded service, twice per request.
 */
export class CallsiteCache {
  private site: Callsite | undefined;

  constructor(private readonly enabled: boolean) {}

  /** The fields to add to a record made by `wrapper` (empty: let the logger find them per record). */
  fields(wrapper: (...args: never) => unknown): Partial<Callsite> {
    if (!this.enabled || !state.callsite) return {};
    this.site ??= captureCallsite(wrapper, 1);
    return this.site ?? {};
  }
}

/**
 * Whether a routine record (a successful request log) is kept under `LOG_SAMPLE_RATE`. Inside a
 * sampled trace the decision follows the trace id, so one request's routine lines are kept or
 * dropped together on every service; outside one it is random. Warnings, errors and AI usage
 * records never go through this.
 */
export function keepRoutineLog(): boolean {
  const rate = state.sampleRate;
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && trace.isSpanContextValid(spanContext)) {
    // The last 8 hex digits of a W3C trace id are random (the spec's randomness requirement).
    return Number.parseInt(spanContext.traceId.slice(-8), 16) / 0x1_0000_0000 < rate;
  }
  return Math.random() < rate;
}
