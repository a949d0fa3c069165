import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  context,
  type DiagLogger,
  DiagLogLevel,
  diag,
  logs,
  propagation,
  ROOT_CONTEXT,
  SeverityNumber,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { JsonLogsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TRACE_FLAGS } from '../../src/logging/fields';
import { LOG_SCOPE, OtlpLogTransport, useDirectLogPath } from '../../src/logging/otlp-transport';
import {
  type OtlpExportTarget,
  OtlpJsonLogRecordProcessor,
  OtlpJsonSpanProcessor,
  otlpExportTarget,
  parseOtlpHeaders,
} from '../../src/sdk/otlp-json';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A raw OTLP/HTTP endpoint: keeps every body, answers the queued statuses first, then 200. */
class RawReceiver {
  readonly received: Received[] = [];
  readonly statuses: number[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const status = this.statuses.shift() ?? 200;
        if (status === 200) {
          const raw = Buffer.concat(chunks);
          const gzipped = req.headers['content-encoding'] === 'gzip';
          const text = (gzipped ? gunzipSync(raw) : raw).toString('utf8');
          this.received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
        }
        res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' }).end('{}');
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

/**
 * Drops what proto3's JSON mapping lets an encoder leave out (defaults: 0, '', [], absent), so two
 * valid encodings of the same data compare equal.
 */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    // NOTE: JSON.stringify turns NaN into null, which the SDK's serialiser sends (and a collector
    // rejects); proto3's JSON mapping says "NaN", which we send. Compared as absent on both sides.
    if ((value as { doubleValue?: unknown }).doubleValue === 'NaN') return {};
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner === undefined || inner === null || inner === 0 || inner === '') continue;
      if (Array.isArray(inner) && inner.length === 0) continue;
      out[key] = normalise(inner);
    }
    return out;
  }
  return value;
}

type Doc = { resourceSpans?: ScopeHolder[]; resourceLogs?: ScopeHolder[] };
type ScopeHolder = { scopeSpans?: ScopeItems[]; scopeLogs?: ScopeItems[] };
type ScopeItems = { scope: { name: string }; spans?: { spanId: string }[]; logRecords?: { timeUnixNano: string }[] };

/** Scope lists sorted by name and items by id, so grouping order does not matter. */
function canonical(doc: unknown): unknown {
  const d = normalise(doc) as Doc;
  for (const resource of d.resourceSpans ?? d.resourceLogs ?? []) {
    const scopes = resource.scopeSpans ?? resource.scopeLogs ?? [];
    scopes.sort((x, y) => x.scope.name.localeCompare(y.scope.name));
    for (const scope of scopes) {
      scope.spans?.sort((x, y) => x.spanId.localeCompare(y.spanId));
      scope.logRecords?.sort((x, y) => x.timeUnixNano.localeCompare(y.timeUnixNano));
    }
  }
  return d;
}

function target(base: string, signal: 'traces' | 'logs', extra: Partial<OtlpExportTarget> = {}): OtlpExportTarget {
  return { url: new URL(`${base}/v1/${signal}`), headers: {}, timeoutMillis: 5000, gzip: false, ...extra };
}

const resource = resourceFromAttributes({ 'service.name': 'flashcase-test', 'service.version': '1.0.0' });

describe('OTLP JSON export', () => {
  const receiver = new RawReceiver();
  let base = '';
  const warnings: string[] = [];

  beforeAll(async () => {
    base = await receiver.start();
    const capture = (message: string) => warnings.push(message);
    const ignore = () => {};
    const logger: DiagLogger = { error: capture, warn: capture, info: ignore, debug: ignore, verbose: ignore };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  });
  afterAll(async () => {
    diag.disable();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.statuses.length = 0;
    warnings.length = 0;
  });
  afterEach(() => {
    // a test's own provider is shut down by the test; nothing global is left registered
    trace.disable();
  });

  it('encodes spans exactly as the OpenTelemetry JSON serialiser does', async () => {
    const processor = new OtlpJsonSpanProcessor(target(base, 'traces'), { scheduledDelayMillis: 60_000 });
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource,
      spanProcessors: [processor, new SimpleSpanProcessor({ exporter: memory })],
    });
    const tracer = provider.getTracer('@flashcase/test', '2.0.0');
    const other = provider.getTracer('another-scope');

    // a remote parent, as a traceparent header brings it (with tracestate)
    const propagator = new W3CTraceContextPropagator();
    const remote = propagator.extract(
      ROOT_CONTEXT,
      {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'vendor=opaque,other=1',
      },
      {
        get: (carrier: Record<string, string>, key: string) => carrier[key],
        keys: (carrier: Record<string, string>) => Object.keys(carrier),
      },
    );
    const server = tracer.startSpan('POST /api/v1/ai/chat', { kind: SpanKind.SERVER }, remote);
    server.setAttributes({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'flashcase.ai.cost': 0.000125,
      'flashcase.ai.stream': false,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
      'flashcase.numbers': [1, 2.5, 3],
      'quote"and\\slash\nline': 'value with "quotes", \\ and ünïcödé ✓',
      'not.finite': Number.NaN,
    });
    const child = tracer.startSpan('chat grok-4-fast', { kind: SpanKind.CLIENT }, trace.setSpan(remote, server));
    child.addEvent('gen_ai.choice', { index: 0, 'finish.reason': 'stop' });
    child.addLink({ context: server.spanContext(), attributes: { 'link.kind': 'parent' } });
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream said no' });
    child.end();
    server.end();
    other.startSpan('internal work').end();
    // Attribute text is cached per key and value: values that repeat, keys with more distinct
    // values than the cache keeps, a key whose value changes type, values too long to cache.
    for (let i = 0; i < 40; i++) {
      const attributes = {
        'http.route': ['/a', '/b', '/c'][i % 3],
        'request.id': `r-${i}`,
        'mixed.type': [1, '1', true, 1.5][i % 4],
        'long.value': `${'x'.repeat(70)}${i % 2}`,
        tokens: i % 20,
      };
      tracer.startSpan(`repeat ${i}`, { attributes }).end();
    }

    await provider.forceFlush();
    const expected = JSON.parse(
      new TextDecoder().decode(JsonTraceSerializer.serializeRequest(memory.getFinishedSpans())),
    );
    expect(receiver.received).toHaveLength(1);
    const [sent] = receiver.received;
    expect(sent?.path).toBe('/v1/traces');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(canonical(sent?.body)).toEqual(canonical(expected));
    // and the details the comparison could hide behind normalisation
    const text = JSON.stringify(sent?.body);
    expect(text).toContain('"parentSpanId":"b7ad6b7169203331"');
    expect(text).toContain('"traceState":"vendor=opaque,other=1"');
    expect(text).toContain('"doubleValue":"NaN"');
    await provider.shutdown();
  });

  it('encodes log records exactly as the OpenTelemetry JSON serialiser does', async () => {
    const processor = new OtlpJsonLogRecordProcessor(target(base, 'logs'), { scheduledDelayMillis: 60_000 });
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource,
      processors: [processor, new SimpleLogRecordProcessor({ exporter: memory })],
    });
    const logger = provider.getLogger('@flashcase/telemetry');
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    logger.emit({
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: 'Request completed',
      attributes: { logger: 'gateway.http', status_code: 200, duration_ms: 12.5, cached: true },
      context: trace.setSpan(context.active(), span),
      timestamp: new Date('2026-11-27T12:00:00.123Z'),
    });
    logger.emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: { structured: ['a', 1] },
      eventName: 'flashcase.warning',
      timestamp: new Date('2026-11-27T12:00:01.000Z'),
    });
    await provider.forceFlush();
    const expected = JSON.parse(
      new TextDecoder().decode(JsonLogsSerializer.serializeRequest(memory.getFinishedLogRecords())),
    );
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.path).toBe('/v1/logs');
    expect(canonical(receiver.received[0]?.body)).toEqual(canonical(expected));
    await provider.shutdown();
  });

  it('exports a winston record handed over directly exactly as the same record emitted through the SDK', async () => {
    const processor = new OtlpJsonLogRecordProcessor(
      target(base, 'logs'),
      { scheduledDelayMillis: 60_000, maxExportBatchSize: 1000 },
      LOG_SCOPE,
    );
    const provider = new LoggerProvider({ resource, processors: [processor] });
    logs.setGlobalLoggerProvider(provider);
    const transport = new OtlpLogTransport();
    const many: Record<string, number> = {};
    for (let i = 0; i < 140; i++) many[`field_${i}`] = i;
    const records: Array<Record<string | symbol, unknown>> = [
      {
        level: 'info',
        message: 'Request completed',
        timestamp: '2026-11-27T12:00:00.123Z',
        logger: 'gateway.http',
        status_code: 200,
        duration_ms: 12.5,
        cached: true,
        nothing: null,
        skipped: undefined,
        '': 'no key',
        nested: { a: [1, 'two'] },
        ratio: Number.NaN,
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
        [TRACE_FLAGS]: 1,
      },
      // ids a caller put on the record: kept when valid, dropped when not
      {
        level: 'warn',
        message: 'valid ids',
        timestamp: '2026-11-27T12:00:01.000Z',
        trace_id: 'a'.repeat(32),
        span_id: 'b'.repeat(16),
      },
      {
        level: 'error',
        message: 'invalid ids',
        timestamp: '2026-11-27T12:00:01.500Z',
        trace_id: 'not-a-trace',
        span_id: '0'.repeat(16),
      },
      { level: 'http', message: 'over the attribute count limit', timestamp: '2026-11-27T12:00:02.000Z', ...many },
      { level: 'custom', message: 7 },
    ];
    // before the SDK emitted a record of the scope, the processor does not know its resource
    expect(processor.emitDirect({ attributes: {} } as never)).toBe(false);
    for (const record of records) {
      useDirectLogPath(undefined);
      transport.log({ ...record }, () => {});
      useDirectLogPath(processor);
      transport.log({ ...record }, () => {});
    }
    await provider.forceFlush();
    useDirectLogPath(undefined);
    await provider.shutdown();
    logs.disable();

    expect(receiver.received).toHaveLength(1);
    const body = receiver.received[0]?.body as {
      resourceLogs: Array<{
        scopeLogs: Array<{ scope: { name: string }; logRecords: Array<Record<string, unknown>> }>;
      }>;
    };
    // one resource, one scope: the direct records joined the SDK's
    expect(body.resourceLogs).toHaveLength(1);
    expect(body.resourceLogs[0]?.scopeLogs).toHaveLength(1);
    const scopeLogs = body.resourceLogs[0]?.scopeLogs[0];
    expect(scopeLogs?.scope.name).toBe(LOG_SCOPE);
    const exported = scopeLogs?.logRecords ?? [];
    expect(exported).toHaveLength(2 * records.length);
    for (let i = 0; i < records.length; i++) {
      const { observedTimeUnixNano: sdkObserved, ...viaSdk } = exported[2 * i] ?? {};
      const { observedTimeUnixNano: directObserved, ...direct } = exported[2 * i + 1] ?? {};
      if (records[i]?.timestamp === undefined) {
        // No timestamp on the record: each path takes the clock when it emits, so the two may
        // fall in different milliseconds.
        const apart = BigInt(direct.timeUnixNano as string) - BigInt(viaSdk.timeUnixNano as string);
        expect(apart >= 0n && apart < 1_000_000_000n).toBe(true);
        delete direct.timeUnixNano;
        delete viaSdk.timeUnixNano;
      }
      expect(direct).toEqual(viaSdk);
      expect(typeof directObserved).toBe('string');
      expect(typeof sdkObserved).toBe('string');
    }
    const first = exported[0] as { traceId?: string; attributes: Array<{ key: string }> };
    expect(first.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(first.attributes.map((a) => a.key)).not.toContain('skipped');
    expect((exported[2] as { traceId?: string }).traceId).toBe('a'.repeat(32));
    expect((exported[4] as { traceId?: string }).traceId).toBeUndefined();
    expect(exported[6]?.droppedAttributesCount).toBe(140 - 128);
  });

  it('sends a full batch at once, and a partial one after the schedule delay', async () => {
    const processor = new OtlpJsonSpanProcessor(target(base, 'traces'), {
      maxExportBatchSize: 3,
      scheduledDelayMillis: 150,
    });
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 4; i++) tracer.startSpan(`span ${i}`).end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spansIn = () =>
      receiver.received.map((r) => JSON.stringify(r.body).match(/"spanId"/g)?.length ?? 0).reduce((a, b) => a + b, 0);
    expect(receiver.received).toHaveLength(1);
    expect(spansIn()).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(receiver.received).toHaveLength(2);
    expect(spansIn()).toBe(4);
    await provider.shutdown();
  });

  it('writes batches into reused buffers, and never reuses one a collector is still reading', async () => {
    // A collector that answers at once and then reads the body slowly: an exporter that reused a
    // batch's buffer when the answer came (not when the request closed) would overwrite bytes still
    // on their way, and these bodies would arrive corrupted.
    const bodies: string[] = [];
    let requests = 0;
    const slow = createServer((req, res) => {
      requests++;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (chunks.length > 1) return;
        // The answer after the first bytes (a body the server began to read is not discarded),
        // then not a byte more for 100 ms: the kernel's buffers fill, the rest waits in the sender's.
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        req.pause();
        setTimeout(() => req.resume(), 100);
      });
      req.on('end', () => bodies.push(Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const slabs = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const processor = new OtlpJsonSpanProcessor(target(url, 'traces'), {
        maxExportBatchSize: 600,
        scheduledDelayMillis: 60_000,
      });
      const provider = new TracerProvider({ resource, spanProcessors: [processor] });
      const tracers = ['cards', 'chat', 'rewrite'].map((name) => provider.getTracer(name));
      // Batches of about 5 MB, more than loopback buffers take from a reader that does not read.
      const text = (round: number, i: number) => `карточка ${round}.${i} 🃏 ${'x'.repeat((i % 7) * 3000)}`;
      const allocated: number[] = [];
      const rounds = 4;
      const SPANS = 1200;
      for (let round = 0; round < rounds; round++) {
        const before = slabs.mock.calls.length;
        for (let i = 0; i < SPANS; i++) {
          const span = (tracers[i % 3] as ReturnType<typeof provider.getTracer>).startSpan(`r${round} s${i}`);
          span.setAttribute('card.text', text(round, i));
          span.end();
        }
        await provider.forceFlush();
        allocated.push(slabs.mock.calls.length - before);
      }
      await provider.shutdown();
      // The exporter is done when its bytes are sent; the collector may still be reading them.
      for (let waited = 0; bodies.length < requests && waited < 5000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      const seen = new Map<string, string>();
      for (const body of bodies) {
        const doc = JSON.parse(body) as {
          resourceSpans: Array<{
            scopeSpans: Array<{
              spans: Array<{ name: string; attributes: Array<{ key: string; value: { stringValue: string } }> }>;
            }>;
          }>;
        };
        for (const scope of doc.resourceSpans[0]?.scopeSpans ?? []) {
          for (const span of scope.spans) {
            expect(seen.has(span.name)).toBe(false);
            seen.set(span.name, span.attributes.find((a) => a.key === 'card.text')?.value.stringValue ?? '');
          }
        }
      }
      expect(seen.size).toBe(rounds * SPANS);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < SPANS; i += 97) expect(seen.get(`r${round} s${i}`)).toBe(text(round, i));
      }
      // The first round sizes the buffers; the next ones take them back instead of allocating.
      expect(allocated[0]).toBeGreaterThan(0);
      expect(allocated.slice(1)).toEqual(Array(rounds - 1).fill(0));
    } finally {
      slabs.mockRestore();
      await new Promise<void>((resolve) => {
        slow.closeAllConnections();
        slow.close(() => resolve());
      });
    }
  });

  it('exports only sampled spans', async () => {
    const processor = new OtlpJsonSpanProcessor(target(base, 'traces'));
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 0,
      isRemote: true,
    });
    // the default sampler is parent-based: an unsampled remote parent means an unsampled child
    tracer.startSpan('not sampled', {}, unsampled).end();
    tracer.startSpan('sampled').end();
    await provider.forceFlush();
    const text = JSON.stringify(receiver.received.map((r) => r.body));
    expect(text).toContain('"sampled"');
    expect(text).not.toContain('not sampled');
    await provider.shutdown();
  });

  it('retries a 503 and gives up on a 400 at once, with a readable warning', async () => {
    const processor = new OtlpJsonSpanProcessor(target(base, 'traces'));
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    const tracer = provider.getTracer('t');

    receiver.statuses.push(503, 503);
    tracer.startSpan('retried').end();
    await provider.forceFlush();
    expect(receiver.received).toHaveLength(1);
    expect(JSON.stringify(receiver.received[0]?.body)).toContain('"retried"');
    expect(warnings).toEqual([]);

    receiver.statuses.push(400);
    tracer.startSpan('rejected').end();
    await provider.forceFlush();
    expect(receiver.received).toHaveLength(1);
    expect(receiver.statuses).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(/^OTLP traces export failed: HTTP 400 from http:\/\/127\.0\.0\.1:/),
    ]);
    await provider.shutdown();
  });

  it('says why when the collector is unreachable, without a stack', async () => {
    const closed = new RawReceiver();
    const url = await closed.start();
    await closed.stop();
    const processor = new OtlpJsonSpanProcessor({ ...target(url, 'traces'), timeoutMillis: 300 });
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    provider.getTracer('t').startSpan('lost').end();
    await provider.forceFlush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^OTLP traces export failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    await provider.shutdown();
  });

  it('drops what does not fit the queue and says so', async () => {
    const processor = new OtlpJsonSpanProcessor(target(base, 'traces'), {
      maxQueueSize: 4,
      maxExportBatchSize: 100,
      scheduledDelayMillis: 60_000,
    });
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 10; i++) tracer.startSpan(`span ${i}`).end();
    await provider.forceFlush();
    const text = JSON.stringify(receiver.received.map((r) => r.body));
    expect(text.match(/"spanId"/g)).toHaveLength(4);
    expect(text).toContain('"span 3"');
    expect(text).not.toContain('"span 4"');
    // one word for the six dropped, not one per span
    expect(warnings.filter((w) => w.includes('queue full'))).toEqual([
      'OTLP traces export queue full (4): 1 spans dropped',
    ]);
    await provider.shutdown();
  });

  it('sends the configured headers, gzip-compressed when asked', async () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20value,broken,x-team=obs',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
    };
    const resolved = otlpExportTarget(env, 'traces');
    expect(resolved?.url.href).toBe(`${base}/v1/traces`);
    const processor = new OtlpJsonSpanProcessor(resolved as OtlpExportTarget);
    const provider = new TracerProvider({ resource, spanProcessors: [processor] });
    provider.getTracer('t').startSpan('compressed').end();
    await provider.forceFlush();
    expect(receiver.received).toHaveLength(1);
    const { headers, body } = receiver.received[0] as Received;
    expect(headers['content-encoding']).toBe('gzip');
    expect(headers['x-api-key']).toBe('secret value');
    expect(headers['x-team']).toBe('obs');
    expect(JSON.stringify(body)).toContain('"compressed"');
    await provider.shutdown();
  });

  it('resolves endpoints as the spec says', () => {
    expect(otlpExportTarget({}, 'traces')).toBeUndefined();
    const generic = otlpExportTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'logs');
    expect(generic?.url.href).toBe('http://collector:4318/v1/logs');
    expect(generic?.timeoutMillis).toBe(10_000);
    expect(generic?.gzip).toBe(false);
    const specific = otlpExportTarget(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example:443/custom/path',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      },
      'traces',
    );
    expect(specific?.url.href).toBe('https://traces.example/custom/path');
    expect(specific?.timeoutMillis).toBe(2500);
    expect(otlpExportTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318 with spaces' }, 'traces')).toBeUndefined();
    expect(parseOtlpHeaders('a=1, b = two%2C2 ,=x,c')).toEqual({ a: '1', b: 'two,2' });
    // a propagator is not needed for any of this; the global one stays untouched
    expect(propagation.fields()).toEqual([]);
  });
});
