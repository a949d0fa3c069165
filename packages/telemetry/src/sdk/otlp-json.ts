import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gzip } from 'node:zlib';
import { type Attributes, type AttributeValue, context, diag, type HrTime, TraceFlags } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * OTLP/HTTP JSON export of spans and log records, serialised as each one ends.
 *
 * NOTE: why not the SDK's BatchSpanProcessor + `exporter-*-otlp-http`: measured on ai-proxy under
 * load (issue 8), they were a quarter of its CPU. The batch processor keeps every finished span
 * object alive until its batch goes out (so all of them survive into V8's old space and its costly
 * collections), and the exporter then builds a second object tree per batch, `JSON.stringify`s it
 * and encodes it again, in one synchronous slice that grows with the batch (why the batch had been
 * cut to 64, and so five times the HTTP requests). Here each span or record becomes its JSON text
 * once, when it ends (a few microseconds), the object is free at once, and an export is a join of
 * ready strings: batches of the spec's 512 cost no pause.
 *
 * What it keeps of the spec: `OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]ENDPOINT`, `_HEADERS`, `_TIMEOUT`,
 * `_COMPRESSION` (gzip, compressed off the main thread); the batch settings of
 * `OTEL_BSP_*`/`OTEL_BLRP_*`; retries with exponential backoff on network errors and on 429, 502,
 * 503 and 504 (honouring Retry-After) within the export timeout; only sampled spans; a full queue
 * drops new items and says so (once a minute, through `diag`). The encoding is OTLP's JSON mapping as
 * `@opentelemetry/otlp-transformer` writes it: hex ids, nanosecond times as decimal strings, enums as
 * numbers, one resource and one entry per instrumentation scope.
 */

export type OtlpSignal = 'traces' | 'logs';

export interface OtlpBatchOptions {
  /** Items waiting before new ones are dropped; spec default 2048. */
  maxQueueSize?: number;
  /** Items per export; spec default 512. */
  maxExportBatchSize?: number;
  /** Longest wait before queued items are sent; spec defaults 5000 (traces) and 1000 (logs) ms. */
  scheduledDelayMillis?: number;
  /** One export, retries included; spec default 30000 ms (`OTEL_EXPORTER_OTLP_TIMEOUT`: 10000). */
  exportTimeoutMillis?: number;
}

export interface OtlpExportTarget {
  url: URL;
  headers: Record<string, string>;
  timeoutMillis: number;
  gzip: boolean;
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const MAX_ATTEMPTS = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
/** How often a full queue says how much it dropped. */
const DROP_REPORT_INTERVAL_MS = 60_000;
/** Exports of one signal in flight at once; more wait in the queue (where a full queue drops). */
const MAX_CONCURRENT_EXPORTS = 2;

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
 * Where and how one signal is exported, from the `OTEL_EXPORTER_OTLP_*` variables: the
 * signal-specific endpoint is used as is, the generic one gets `/v1/traces` or `/v1/logs` appended.
 * Undefined when neither endpoint is set or the URL is not http(s).
 */
export function otlpExportTarget(env: NodeJS.ProcessEnv, signal: OtlpSignal): OtlpExportTarget | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  const generic = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  let url: URL;
  try {
    if (specific) url = new URL(specific);
    else if (generic) url = new URL(`${generic.replace(/\/+$/, '')}/v1/${signal}`);
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
    url,
    headers: parseOtlpHeaders(signalEnv(env, signal, 'HEADERS')),
    timeoutMillis: positiveInt(signalEnv(env, signal, 'TIMEOUT')) ?? 10_000,
    gzip: signalEnv(env, signal, 'COMPRESSION') === 'gzip',
  };
}

// ---------------------------------------------------------------------------------------------
// JSON text of OTLP values

/** Attribute keys repeat endlessly (`http.route`, `gen_ai.request.model`): their JSON text is cached. */
const keyText = new Map<string, string>();

function quotedKey(key: string): string {
  let text = keyText.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (keyText.size < 2000) keyText.set(key, text);
  }
  return text;
}

function numberValue(value: number): string {
  if (Number.isInteger(value)) return `{"intValue":${value}}`;
  // proto3's JSON mapping spells the non-finite doubles as strings.
  if (Number.isNaN(value)) return '{"doubleValue":"NaN"}';
  if (!Number.isFinite(value)) return `{"doubleValue":"${value > 0 ? 'Infinity' : '-Infinity'}"}`;
  return `{"doubleValue":${value}}`;
}

/** An OTLP `AnyValue` as JSON text. */
export function anyValueJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `{"stringValue":${JSON.stringify(value)}}`;
    case 'number':
      return numberValue(value);
    case 'boolean':
      return value ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'object': {
      if (value === null) return '{}';
      if (value instanceof Uint8Array) return `{"bytesValue":"${Buffer.from(value).toString('base64')}"}`;
      if (Array.isArray(value)) {
        let out = '{"arrayValue":{"values":[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + anyValueJson(value[i]);
        return `${out}]}}`;
      }
      let out = '{"kvlistValue":{"values":[';
      let first = true;
      for (const key in value) {
        out += `${first ? '' : ','}{"key":${quotedKey(key)},"value":${anyValueJson((value as Record<string, unknown>)[key])}}`;
        first = false;
      }
      return `${out}]}}`;
    }
    default:
      return '{}';
  }
}

/**
 * What one attribute key's JSON needs, built once: `{"key":"http.route","value":` and, for the
 * key's first values, the whole `KeyValue` text. Most attributes repeat their values endlessly
 * (method, route, status code, model, operation), so a span or log record's attributes become a
 * few concatenations of cached text instead of a dozen new strings each.
 */
interface KeyText {
  prefix: string;
  /** Whole `KeyValue` JSON by value; null once the key has shown too many distinct values. */
  values: Map<string | number | boolean, string> | null;
}

/** Distinct values cached per key; a key with more (ids, durations) is cached no further. */
const VALUES_PER_KEY = 16;
/** Longer string values are not cached (prompts never reach attributes, but a URL might). */
const MAX_CACHED_VALUE_LENGTH = 64;

const keyTexts = new Map<string, KeyText>();

function keyTextOf(key: string): KeyText {
  let text = keyTexts.get(key);
  if (text === undefined) {
    // Past 2000 keys nothing more is kept, so no value map is worth building for this one.
    const kept = keyTexts.size < 2000;
    text = { prefix: `{"key":${quotedKey(key)},"value":`, values: kept ? new Map() : null };
    if (kept) keyTexts.set(key, text);
  }
  return text;
}

function keyValueJson(key: string, value: AttributeValue): string {
  const text = keyTextOf(key);
  const values = text.values;
  const cacheable =
    values !== null &&
    (typeof value === 'number' ||
      typeof value === 'boolean' ||
      (typeof value === 'string' && value.length <= MAX_CACHED_VALUE_LENGTH));
  if (!cacheable) return `${text.prefix}${anyValueJson(value)}}`;
  const cached = values.get(value as string | number | boolean);
  if (cached !== undefined) return cached;
  const json = `${text.prefix}${anyValueJson(value)}}`;
  if (values.size < VALUES_PER_KEY) values.set(value as string | number | boolean, json);
  else text.values = null;
  return json;
}

/** OTLP `KeyValue` list as JSON text; undefined values are skipped. */
export function attributesJson(attributes: Attributes | undefined): string {
  let out = '[';
  let first = true;
  for (const key in attributes) {
    const value = attributes[key] as AttributeValue | undefined;
    if (value === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += keyValueJson(key, value);
  }
  return `${out}]`;
}

/** Nanoseconds since the epoch as a decimal string (uint64 in proto3 JSON). */
export function hrTimeNanos(time: HrTime): string {
  const seconds = Math.trunc(time[0]);
  const nanos = Math.trunc(time[1]);
  if (seconds <= 0) return String(nanos);
  const fraction = String(nanos);
  return `${seconds}${'000000000'.slice(fraction.length)}${fraction}`;
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

/** One span as an OTLP JSON `Span`. */
export function spanJson(span: ReadableSpan): string {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  let out = `{"traceId":"${context.traceId}","spanId":"${context.spanId}"`;
  if (parent?.spanId) out += `,"parentSpanId":"${parent.spanId}"`;
  const traceState = context.traceState?.serialize();
  if (traceState) out += `,"traceState":${JSON.stringify(traceState)}`;
  out += `,"name":${JSON.stringify(span.name)},"kind":${span.kind + 1}`;
  out += `,"startTimeUnixNano":"${hrTimeNanos(span.startTime)}","endTimeUnixNano":"${hrTimeNanos(span.endTime)}"`;
  out += `,"attributes":${attributesJson(span.attributes)}`;
  if (span.droppedAttributesCount > 0) out += `,"droppedAttributesCount":${span.droppedAttributesCount}`;
  if (span.events.length > 0) {
    out += ',"events":[';
    span.events.forEach((event, i) => {
      out += `${i === 0 ? '' : ','}{"timeUnixNano":"${hrTimeNanos(event.time)}","name":${JSON.stringify(event.name)}`;
      out += `,"attributes":${attributesJson(event.attributes)}`;
      if (event.droppedAttributesCount) out += `,"droppedAttributesCount":${event.droppedAttributesCount}`;
      out += '}';
    });
    out += ']';
  }
  if (span.droppedEventsCount > 0) out += `,"droppedEventsCount":${span.droppedEventsCount}`;
  if (span.links.length > 0) {
    out += ',"links":[';
    span.links.forEach((link, i) => {
      const linked = link.context;
      out += `${i === 0 ? '' : ','}{"traceId":${JSON.stringify(linked.traceId)},"spanId":${JSON.stringify(linked.spanId)}`;
      const linkState = linked.traceState?.serialize();
      if (linkState) out += `,"traceState":${JSON.stringify(linkState)}`;
      out += `,"attributes":${attributesJson(link.attributes)}`;
      if (link.droppedAttributesCount) out += `,"droppedAttributesCount":${link.droppedAttributesCount}`;
      out += `,"flags":${spanFlags(linked.traceFlags, linked.isRemote)}}`;
    });
    out += ']';
  }
  if (span.droppedLinksCount > 0) out += `,"droppedLinksCount":${span.droppedLinksCount}`;
  const { code, message } = span.status;
  out += `,"status":{"code":${code}${message ? `,"message":${JSON.stringify(message)}` : ''}}`;
  return `${out},"flags":${spanFlags(context.traceFlags, parent?.isRemote)}}`;
}

/** What an OTLP `LogRecord` is made of: the fields of the SDK's record that {@link logRecordJson} reads. */
export type LogRecordFields = Pick<
  ReadableLogRecord,
  | 'hrTime'
  | 'hrTimeObserved'
  | 'severityNumber'
  | 'severityText'
  | 'body'
  | 'eventName'
  | 'attributes'
  | 'droppedAttributesCount'
  | 'spanContext'
>;

/** One log record as an OTLP JSON `LogRecord`. */
export function logRecordJson(record: LogRecordFields): string {
  let out = `{"timeUnixNano":"${hrTimeNanos(record.hrTime)}","observedTimeUnixNano":"${hrTimeNanos(record.hrTimeObserved)}"`;
  if (record.severityNumber !== undefined) out += `,"severityNumber":${record.severityNumber}`;
  if (record.severityText !== undefined) out += `,"severityText":${JSON.stringify(record.severityText)}`;
  if (record.body !== undefined) out += `,"body":${anyValueJson(record.body)}`;
  if (record.eventName) out += `,"eventName":${JSON.stringify(record.eventName)}`;
  out += `,"attributes":${attributesJson(record.attributes)}`;
  if (record.droppedAttributesCount > 0) out += `,"droppedAttributesCount":${record.droppedAttributesCount}`;
  const context = record.spanContext;
  if (context) out += `,"flags":${context.traceFlags},"traceId":"${context.traceId}","spanId":"${context.spanId}"`;
  return `${out}}`;
}

interface Scope {
  name: string;
  version?: string;
  schemaUrl?: string;
  attributes?: Attributes;
  droppedAttributesCount?: number;
}

function scopeJson(scope: Scope): string {
  let out = `{"name":${JSON.stringify(scope.name)}`;
  if (scope.version) out += `,"version":${JSON.stringify(scope.version)}`;
  if (scope.attributes && Object.keys(scope.attributes).length > 0) {
    out += `,"attributes":${attributesJson(scope.attributes)},"droppedAttributesCount":${scope.droppedAttributesCount ?? 0}`;
  }
  return `${out}}`;
}

function resourceJson(resource: Resource): string {
  return `{"attributes":${attributesJson(resource.attributes)},"droppedAttributesCount":0}`;
}

// ---------------------------------------------------------------------------------------------
// The queue and the sender

interface ScopeBatch {
  /** `{"scope":...,"` + the list's key, up to the opening bracket. */
  head: string;
  /**
   * The items as UTF-8, comma-separated, written into a buffer of the queue's {@link Slabs} as
   * each arrives; `bytes.subarray(0, length)` is the list's content.
   *
   * NOTE: as text, a batch filling for a few hundred milliseconds was a tree of thousands of small
   * strings that every young-generation collection had to copy and then promote (about 2 MB per
   * scavenge at one connection). As one Buffer per item (and one more joining them for the POST),
   * it was thousands of ArrayBuffers per batch that outlived a scavenge or two, so only a full
   * collection freed their memory: at 1 500 requests/s, 20-40 MB of dead bytes between full GCs
   * (`process.memoryUsage().arrayBuffers`; 0.5 MB with telemetry off), which malloc then kept
   * resident. Written into reused buffers, a steady flow of batches allocates nothing.
   */
  bytes: Buffer;
  length: number;
}

interface Pending {
  resource: Resource;
  scopes: Map<string, ScopeBatch>;
  count: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const CLOSE_SCOPE = Buffer.from(']}');
const CLOSE_BODY = Buffer.from(']}]}');

/** A new slab's size: a batch of 512 typical spans is 0.5-1 MB. */
const SLAB_BYTES = 256 * 1024;
/** Slabs kept for reuse, and the largest one kept: more or larger ones are left to the GC. */
const MAX_FREE_SLABS = 8;
const MAX_KEPT_SLAB_BYTES = 4 * 1024 * 1024;

/**
 * Buffers that batches are written into, taken when a batch starts (or outgrows its buffer) and
 * given back after its export. The largest are kept: a batch then starts in a buffer that already
 * fits one, and in a steady flow nothing is allocated.
 */
class Slabs {
  private readonly free: Buffer[] = [];

  take(minBytes: number): Buffer {
    let best: Buffer | undefined;
    for (const slab of this.free) if (slab.length >= minBytes && slab.length > (best?.length ?? -1)) best = slab;
    if (!best) return Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, minBytes));
    this.free.splice(this.free.indexOf(best), 1);
    return best;
  }

  give(slab: Buffer): void {
    if (slab.length > MAX_KEPT_SLAB_BYTES) return;
    if (this.free.length < MAX_FREE_SLABS) {
      this.free.push(slab);
      return;
    }
    const smallest = this.free.reduce((a, b) => (b.length < a.length ? b : a));
    if (smallest.length < slab.length) this.free[this.free.indexOf(smallest)] = slab;
  }
}

/** Outcome of one POST: success, a failure worth another attempt (with its Retry-After), or final. */
type Attempt = { ok: true } | { ok: false; retry: boolean; retryAfterMs?: number; reason: string };

/**
 * Queue and sender of one signal. Items arrive as JSON text, grouped by resource and scope; a
 * batch goes out when `maxExportBatchSize` items wait, or `scheduledDelayMillis` after the first.
 */
class OtlpJsonQueue {
  private readonly listKey: string;
  private readonly maxQueueSize: number;
  private readonly batchSize: number;
  private readonly delayMs: number;
  private readonly exportTimeoutMs: number;
  private readonly agent: HttpAgent;
  /** The batch being filled, and the closed ones waiting for an export slot. */
  private pending: Pending | undefined;
  private readonly ready: Pending[] = [];
  /** Items held, filling, waiting or in flight: what `maxQueueSize` bounds. */
  private queued = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly resourceText = new WeakMap<Resource, string>();
  private readonly slabs = new Slabs();
  private dropped = 0;
  private droppedReportedAt = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly signal: OtlpSignal,
    private readonly target: OtlpExportTarget,
    options: OtlpBatchOptions,
  ) {
    this.listKey = signal === 'traces' ? 'spans' : 'logRecords';
    this.maxQueueSize = options.maxQueueSize ?? 2048;
    this.batchSize = Math.min(options.maxExportBatchSize ?? 512, this.maxQueueSize);
    this.delayMs = options.scheduledDelayMillis ?? (signal === 'traces' ? 5000 : 1000);
    this.exportTimeoutMs = options.exportTimeoutMillis ?? target.timeoutMillis;
    const Agent = target.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, maxSockets: MAX_CONCURRENT_EXPORTS });
  }

  add(resource: Resource, scope: Scope, scopeKey: string, json: string): void {
    if (this.stopped) return;
    if (this.queued >= this.maxQueueSize) {
      this.drop();
      return;
    }
    // One SDK, one resource: a second resource (never seen in practice) starts its own batch.
    if (this.pending && this.pending.resource !== resource) this.seal();
    this.pending ??= { resource, scopes: new Map(), count: 0 };
    let batch = this.pending.scopes.get(scopeKey);
    if (!batch) {
      batch = { head: `{"scope":${scopeJson(scope)},"${this.listKey}":[`, bytes: this.slabs.take(0), length: 0 };
      this.pending.scopes.set(scopeKey, batch);
    }
    // Room for the worst case (3 bytes per UTF-16 unit) and the comma, checked without measuring.
    const room = json.length * 3 + 1;
    if (batch.length + room > batch.bytes.length) {
      const bigger = this.slabs.take(Math.max(batch.bytes.length * 2, batch.length + room));
      batch.bytes.copy(bigger, 0, 0, batch.length);
      this.slabs.give(batch.bytes);
      batch.bytes = bigger;
    }
    if (batch.length > 0) batch.bytes[batch.length++] = 0x2c; // ,
    batch.length += batch.bytes.write(json, batch.length, 'utf8');
    this.pending.count++;
    this.queued++;
    if (this.pending.count >= this.batchSize) {
      this.seal();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.seal();
      }, this.delayMs).unref();
    }
  }

  /**
   * Counts an item the full queue refused, and says so at most once a minute (with the count since
   * the last word): a collector that is down must not cost a diagnostic call per span.
   */
  private drop(): void {
    this.dropped++;
    const now = Date.now();
    if (now - this.droppedReportedAt < DROP_REPORT_INTERVAL_MS) return;
    this.droppedReportedAt = now;
    diag.warn(`OTLP ${this.signal} export queue full (${this.maxQueueSize}): ${this.dropped} ${this.listKey} dropped`);
    this.dropped = 0;
  }

  /** Closes the batch being filled; it is sent on the next turn (off the caller's path). */
  private seal(): void {
    if (this.pending) this.ready.push(this.pending);
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      this.send();
    });
  }

  /** Sends closed batches while an export slot is free; the rest go as slots free up. */
  private send(): void {
    while (this.ready.length > 0 && this.inFlight.size < MAX_CONCURRENT_EXPORTS) {
      const batch = this.ready.shift() as Pending;
      const exported: Promise<void> = this.export(batch.resource, batch.scopes).finally(() => {
        this.queued -= batch.count;
        this.inFlight.delete(exported);
        this.send();
      });
      this.inFlight.add(exported);
    }
  }

  private async export(resource: Resource, scopes: Map<string, ScopeBatch>): Promise<void> {
    try {
      if (resource.asyncAttributesPending) await resource.waitForAsyncAttributes?.();
      let text = this.resourceText.get(resource);
      if (text === undefined) {
        text = resourceJson(resource);
        this.resourceText.set(resource, text);
      }
      const resourceKey = this.signal === 'traces' ? 'resourceSpans' : 'resourceLogs';
      const scopeKey = this.signal === 'traces' ? 'scopeSpans' : 'scopeLogs';
      // The body in parts, the batches' bytes as views: nothing is joined unless it is compressed.
      const parts: Buffer[] = [Buffer.from(`{"${resourceKey}":[{"resource":${text},"${scopeKey}":[`, 'utf8')];
      let first = true;
      for (const batch of scopes.values()) {
        parts.push(Buffer.from(`${first ? '' : ','}${batch.head}`, 'utf8'), batch.bytes.subarray(0, batch.length));
        parts.push(CLOSE_SCOPE);
        first = false;
      }
      parts.push(CLOSE_BODY);
      await this.post(parts);
    } catch (err) {
      diag.warn(`OTLP ${this.signal} export failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      // Every attempt is over and its request closed (attempt() settles on 'close'): no socket
      // still reads these bytes, so the next batches may overwrite them.
      for (const batch of scopes.values()) this.slabs.give(batch.bytes);
    }
  }

  /** POSTs one body, retrying what the spec calls retryable, within the export timeout. */
  private async post(parts: Buffer[]): Promise<void> {
    const body = this.target.gzip ? [await gzipAsync(Buffer.concat(parts))] : parts;
    const deadline = Date.now() + this.exportTimeoutMs;
    let backoff = INITIAL_BACKOFF_MS;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(body, deadline - Date.now());
      if (result.ok) return;
      const wait = result.retryAfterMs ?? backoff * (0.8 + Math.random() * 0.4);
      if (!result.retry || attempt >= MAX_ATTEMPTS || this.stopped || Date.now() + wait >= deadline) {
        throw new Error(result.reason);
      }
      await sleep(wait);
      backoff = Math.min(backoff * 1.5, MAX_BACKOFF_MS);
    }
  }

  /**
   * One POST of `body` (its parts in order). Settles when the request closes, not at the answer: a
   * collector may answer before it has read the whole body, and the parts are reused buffers that
   * must not change while the socket may still be sending them.
   */
  private attempt(body: readonly Buffer[], timeoutMs: number): Promise<Attempt> {
    return new Promise((resolve) => {
      const { url } = this.target;
      let length = 0;
      for (const part of body) length += part.length;
      const headers: Record<string, string | number> = {
        ...this.target.headers,
        'content-type': 'application/json',
        'content-length': length,
      };
      if (this.target.gzip) headers['content-encoding'] = 'gzip';
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      // Suppressed: the HTTP instrumentation would otherwise trace every export, and export that.
      const req = context.with(suppressTracing(context.active()), () =>
        send(url, { method: 'POST', headers, agent: this.agent, timeout: Math.max(1, timeoutMs) }),
      );
      let outcome: Attempt | undefined;
      req.on('response', (res: IncomingMessage) => {
        // The answer (an ExportServiceResponse, maybe a partial success) is read and let go.
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            outcome ??= { ok: true };
            return;
          }
          const retryAfter = Number(res.headers['retry-after']);
          outcome ??= {
            ok: false,
            retry: RETRYABLE_STATUS.has(status),
            ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
            reason: `HTTP ${status} from ${url.origin}`,
          };
        });
        res.on('error', (err) => {
          outcome ??= { ok: false, retry: true, reason: err.message };
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', (err) => {
        outcome ??= { ok: false, retry: true, reason: err.message };
      });
      req.on('close', () =>
        resolve(outcome ?? { ok: false, retry: true, reason: `connection to ${url.origin} closed` }),
      );
      for (const part of body) req.write(part);
      req.end();
    });
  }

  /** Sends everything queued and waits for every export in flight. */
  async flush(): Promise<void> {
    this.seal();
    this.send();
    while (this.inFlight.size > 0) {
      await Promise.race(this.inFlight);
      this.send();
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.agent.destroy();
  }
}

function gzipAsync(raw: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(raw, (err, out) => (err ? reject(err) : resolve(out))));
}

function scopeKeyOf(scope: Scope): string {
  return `${scope.name}@${scope.version ?? ''}:${scope.schemaUrl ?? ''}`;
}

/** What both processors share: one queue of OTLP JSON items, its flush and shutdown. */
abstract class OtlpJsonProcessor<Item> {
  private readonly queue: OtlpJsonQueue;

  constructor(
    private readonly signal: OtlpSignal,
    target: OtlpExportTarget,
    options: OtlpBatchOptions,
  ) {
    this.queue = new OtlpJsonQueue(signal, target, options);
  }

  /** The item's OTLP JSON text. */
  protected abstract encode(item: Item): string;

  /** Queues one item; one that cannot be encoded is dropped with a warning, never thrown. */
  protected enqueue(resource: Resource, scope: Scope, item: Item): void {
    try {
      this.queue.add(resource, scope, scopeKeyOf(scope), this.encode(item));
    } catch (err) {
      diag.warn(
        `OTLP ${this.signal}: an item could not be encoded: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  forceFlush(): Promise<void> {
    return this.queue.flush();
  }

  shutdown(): Promise<void> {
    return this.queue.shutdown();
  }
}

/** Span processor: sampled spans, as OTLP JSON, batched to `/v1/traces`. */
export class OtlpJsonSpanProcessor extends OtlpJsonProcessor<ReadableSpan> implements SpanProcessor {
  constructor(target: OtlpExportTarget, options: OtlpBatchOptions = {}) {
    super('traces', target, options);
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    this.enqueue(span.resource, span.instrumentationScope, span);
  }

  protected encode(span: ReadableSpan): string {
    return spanJson(span);
  }
}

/**
 * Log record processor: every record, as OTLP JSON, batched to `/v1/logs`.
 *
 * With a `directScope`, it also takes records that never went through the SDK's logger
 * ({@link OtlpJsonLogRecordProcessor.emitDirect}): the winston transport hands over the fields of
 * a record instead of having the SDK build a `LogRecordImpl` for it (an object, a context, a
 * sanitising pass with a `WeakSet` per attribute: about a tenth of a service's allocations). Such
 * records get the resource and scope of the first record the SDK emitted for that scope, so they
 * are exported exactly as the SDK's would be (a test compares them).
 */
export class OtlpJsonLogRecordProcessor extends OtlpJsonProcessor<LogRecordFields> implements LogRecordProcessor {
  private direct: { resource: Resource; scope: Scope } | undefined;

  constructor(
    target: OtlpExportTarget,
    options: OtlpBatchOptions = {},
    private readonly directScope?: string,
  ) {
    super('logs', target, options);
  }

  onEmit(record: ReadableLogRecord): void {
    if (this.direct === undefined && record.instrumentationScope.name === this.directScope) {
      this.direct = { resource: record.resource, scope: record.instrumentationScope };
    }
    this.enqueue(record.resource, record.instrumentationScope, record);
  }

  /**
   * Queues a record of `directScope` made without the SDK. False when it was not taken: before the
   * SDK emitted that scope's first record (the resource and scope are not known yet); the caller
   * then emits through the SDK. After shutdown the queue drops it, as the SDK would.
   */
  emitDirect(record: LogRecordFields): boolean {
    if (this.direct === undefined) return false;
    this.enqueue(this.direct.resource, this.direct.scope, record);
    return true;
  }

  protected encode(record: LogRecordFields): string {
    return logRecordJson(record);
  }
}
