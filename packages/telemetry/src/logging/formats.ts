import { trace } from '@opentelemetry/api';
import { MESSAGE } from 'triple-beam';
import winston from 'winston';
import { captureCallsite } from './callsite';
import { SEED_FIELDS, TRACE_FLAGS } from './fields';
import { redactField, redactString } from './redact';
import { state } from './state';

const COLOURS: Record<string, string> = {
  error: '\u001b[31m',
  warn: '\u001b[33m',
  info: '\u001b[32m',
  http: '\u001b[35m',
  debug: '\u001b[34m',
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';

const RESERVED = new Set(['level', 'message', 'timestamp', 'logger', 'service', 'trace_id', 'span_id']);

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `2025-10-21 15:42:22` in local time, as Python's logging prints `asctime`. */
function humanTime(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(
    date.getMinutes(),
  )}:${pad(date.getSeconds())}`;
}

/** Adds timestamp, service and trace context, redacts every field, and (in production) the callsite. */
export const enrich = winston.format((info) => {
  const record = info as Record<string | symbol, unknown>;
  for (const key of Object.keys(record)) {
    if (key === 'level') continue;
    const value = record[key];
    const clean =
      key === 'message' ? redactString(String(value)) : redactField(key, value, { keepAIContent: state.keepAIContent });
    // Written back only when redaction changed it: a store per field is dear on a record this wide.
    if (clean !== value) record[key] = clean;
  }
  record.timestamp = new Date().toISOString();
  if (state.serviceName && record.service === undefined) record.service = state.serviceName;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (spanContext && trace.isSpanContextValid(spanContext)) {
    record.trace_id = spanContext.traceId;
    record.span_id = spanContext.spanId;
    record[TRACE_FLAGS] = spanContext.traceFlags;
  }
  if (state.callsite && record.module === undefined) {
    const site = captureCallsite();
    if (site) {
      record.module = site.module;
      record.function = site.function;
      record.line = site.line;
    }
  }
  return info;
});

/** One JSON object per line: the seed's fields first, in the seed's order, then the rest. */
export const jsonLine = winston.format((info) => {
  const record = info as Record<string | symbol, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of SEED_FIELDS) {
    const value = key === 'level' ? String(record.level).toUpperCase() : record[key];
    if (value !== undefined) out[key] = value;
  }
  // for...in, not Object.entries: no [key, value] array per field of every record.
  for (const key in record) {
    const value = record[key];
    if (value !== undefined && !(key in out)) out[key] = value;
  }
  record[MESSAGE] = JSON.stringify(out);
  return info;
});

export function humanLine(colors: boolean) {
  return winston.format((info) => {
    const record = info as Record<string | symbol, unknown>;
    const level = String(record.level);
    const tag = `[${level.toUpperCase()}]`;
    const extras: string[] = [];
    for (const [key, value] of Object.entries(record)) {
      if (RESERVED.has(key) || value === undefined) continue;
      extras.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
    }
    const time = humanTime(new Date(String(record.timestamp)));
    const head = colors ? `${COLOURS[level] ?? ''}${tag}${RESET}` : tag;
    const tail = extras.length === 0 ? '' : colors ? ` ${DIM}${extras.join(' ')}${RESET}` : ` ${extras.join(' ')}`;
    record[MESSAGE] = `${head} ${time} - ${String(record.logger ?? 'app')} - ${String(record.message)}${tail}`;
    return info;
  })();
}
