import type { Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LineCapture } from '@flashcase/testkit';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AILogger,
  createInstruments,
  errorHandler,
  getLogger,
  notFound,
  requestId,
  requestTelemetry,
  SERVER_SPAN_SCOPE,
  serverSpans,
  setupLogging,
  startTelemetry,
  type Telemetry,
} from '../../src/index';

const PARENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';

describe('server spans', () => {
  const spans = new InMemorySpanExporter();
  const logs = new LineCapture();
  let telemetry: Telemetry;
  let server: Server;
  let port = 0;
  let base = '';
  const seenInHandler: Record<string, string | undefined> = {};

  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'flashcase-test',
      serviceVersion: '1.0.0',
      environment: 'test',
      instrumentations: [],
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
      env: {},
    });
    setupLogging({ environment: 'test', stream: logs, otlp: false });
    const logger = getLogger('test.http');
    const app = express();
    app.use(serverSpans());
    app.use(requestId());
    app.use(requestTelemetry({ instruments: createInstruments(), logger }));
    app.use(express.json());
    app.get('/items/:id', (req, res) => {
      seenInHandler[`get ${req.params.id}`] = trace.getActiveSpan()?.spanContext().spanId;
      res.json({ id: req.params.id });
    });
    app.post('/echo', async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seenInHandler.post = trace.getActiveSpan()?.spanContext().spanId;
      res.json(req.body);
    });
    app.get('/boom', () => {
      throw new Error('kaboom');
    });
    app.get('/unavailable', (_req, res) => {
      res.status(503).end();
    });
    // An AI call's usage record, written after an await as ai-proxy's accounting writes it.
    const aiLogger = new AILogger(getLogger('test.ai'));
    const usageRecord = () =>
      aiLogger.logAIRequest({ operation: 'chat', model: 'grok-4', tokensUsed: 3, costEstimate: 0, durationMs: 1 });
    app.post('/ai/:outcome', async (req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      usageRecord();
      res.status(req.params.outcome === 'ok' ? 200 : 502).json({});
    });
    app.use(notFound());
    app.use(errorHandler({ logger }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    server.close();
    await telemetry.shutdown();
  });
  beforeEach(() => {
    spans.reset();
    logs.clear();
  });

  const serverSpan = async (): Promise<ReadableSpan> => {
    for (let i = 0; i < 50 && spans.getFinishedSpans().length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const found = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(found).toHaveLength(1);
    return found[0] as ReadableSpan;
  };

  it('names the span by route, continues the caller trace and describes the request by the semantic conventions', async () => {
    const res = await fetch(`${base}/items/42?api_key=sk-secret`, {
      headers: { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01`, 'user-agent': 'flashcase-test/1' },
    });
    expect(res.status).toBe(200);
    const span = await serverSpan();
    expect(span.name).toBe('GET /items/:id');
    expect(span.instrumentationScope.name).toBe(SERVER_SPAN_SCOPE);
    expect(span.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(span.parentSpanContext?.isRemote).toBe(true);
    expect(span.attributes).toEqual({
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'url.path': '/items/42',
      'server.address': '127.0.0.1',
      'server.port': port,
      'client.address': '127.0.0.1',
      'network.peer.address': '127.0.0.1',
      'network.peer.port': expect.any(Number),
      'network.protocol.version': '1.1',
      'user_agent.original': 'flashcase-test/1',
      'http.route': '/items/:id',
      'http.response.status_code': 200,
    });
    expect(JSON.stringify(span.attributes)).not.toContain('sk-secret');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    // the handler ran inside the span, and the request log line carries its trace
    expect(seenInHandler['get 42']).toBe(span.spanContext().spanId);
    const line = logs.lines.find((l) => l.includes('"endpoint":"/items/:id"')) ?? '';
    expect(JSON.parse(line)).toMatchObject({ trace_id: PARENT_TRACE, span_id: span.spanContext().spanId });
  });

  it('keeps the context across the JSON body parser and awaits', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(await res.json()).toEqual({ hello: 'world' });
    const span = await serverSpan();
    expect(span.name).toBe('POST /echo');
    expect(seenInHandler.post).toBe(span.spanContext().spanId);
  });

  it('marks 5xx answers as errors, keeping the error handler description', async () => {
    expect((await fetch(`${base}/boom`)).status).toBe(500);
    const boom = await serverSpan();
    expect(boom.status).toEqual({ code: SpanStatusCode.ERROR, message: 'internal_error' });
    expect(boom.attributes['error.type']).toBe('500');
    expect(boom.events.some((e) => e.name === 'exception')).toBe(true);

    spans.reset();
    expect((await fetch(`${base}/unavailable`)).status).toBe(503);
    const unavailable = await serverSpan();
    expect(unavailable.status.code).toBe(SpanStatusCode.ERROR);
    expect(unavailable.attributes['http.response.status_code']).toBe(503);
  });

  it('leaves 4xx answers unset, and an unmatched path unnamed by it', async () => {
    expect((await fetch(`${base}/no/such/path`)).status).toBe(404);
    const span = await serverSpan();
    expect(span.name).toBe('GET');
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.attributes['url.path']).toBe('/no/such/path');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('writes one record for a request that wrote its own usage record, two when it failed', async () => {
    const recordsOf = (id: string | null) =>
      logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.request_id === id);
    const ok = await fetch(`${base}/ai/ok`, { method: 'POST' });
    expect(ok.status).toBe(200);
    await serverSpan();
    const okRecords = recordsOf(ok.headers.get('x-request-id'));
    expect(okRecords).toHaveLength(1);
    expect(okRecords[0]).toMatchObject({ record_type: 'ai_usage', operation: 'chat' });

    spans.reset();
    const failed = await fetch(`${base}/ai/fail`, { method: 'POST' });
    expect(failed.status).toBe(502);
    await serverSpan();
    const failedRecords = recordsOf(failed.headers.get('x-request-id'));
    expect(failedRecords.map((r) => r.record_type ?? r.status_code)).toEqual(['ai_usage', 502]);

    // a request without a record of its own keeps its request log
    spans.reset();
    const plain = await fetch(`${base}/items/7`);
    await serverSpan();
    expect(recordsOf(plain.headers.get('x-request-id'))).toMatchObject([{ endpoint: '/items/:id', status_code: 200 }]);
  });

  it('names an unknown method _OTHER and keeps the original', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/items/1`, { method: 'PURGE' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(404);
    const span = await serverSpan();
    expect(span.name).toBe('HTTP');
    expect(span.attributes['http.request.method']).toBe('_OTHER');
    expect(span.attributes['http.request.method_original']).toBe('PURGE');
  });
});
