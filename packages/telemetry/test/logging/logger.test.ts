import { LineCapture } from '@flashcase/testkit';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AILogger,
  getLogger,
  RequestLogger,
  requestId,
  serverSpans,
  setupLogging,
  startTelemetry,
  type Telemetry,
} from '../../src/index';

const SEED_FIELDS = [
  'timestamp',
  'level',
  'logger',
  'message',
  'module',
  'function',
  'line',
  'user_id',
  'endpoint',
  'method',
  'status_code',
  'duration_ms',
] as const;

describe('logging', () => {
  const spans = new InMemorySpanExporter();
  const logRecords = new InMemoryLogRecordExporter();
  const out = new LineCapture();
  let telemetry: Telemetry;

  beforeAll(() => {
    telemetry = startTelemetry({
      serviceName: 'flashcase-test',
      serviceVersion: '9.9.9',
      environment: 'test',
      instrumentations: [],
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
      logRecordProcessors: [new SimpleLogRecordProcessor({ exporter: logRecords })],
      env: {},
    });
  });
  afterAll(() => telemetry.shutdown());
  beforeEach(() => {
    out.clear();
    logRecords.reset();
    setupLogging({ environment: 'production', logLevel: 'info', serviceName: 'flashcase-test', stream: out });
  });

  it('writes one JSON object per line in production with the seed fields, the service and the active trace', () => {
    const logger = getLogger('gateway.http');
    const tracer = trace.getTracer('test');
    let traceId = '';
    let spanId = '';
    tracer.startActiveSpan('request', (span) => {
      traceId = span.spanContext().traceId;
      spanId = span.spanContext().spanId;
      new RequestLogger(logger).logRequest({
        method: 'GET',
        endpoint: '/api/v1/ai/usage',
        statusCode: 200,
        durationMs: 12.345,
        userId: 'user-1',
      });
      span.setStatus({ code: SpanStatusCode.OK });
      span.end();
    });
    expect(out.lines).toHaveLength(1);
    const [line] = out.json();
    expect(Object.keys(line ?? {}).slice(0, SEED_FIELDS.length)).toEqual([...SEED_FIELDS]);
    expect(line).toMatchObject({
      level: 'INFO',
      logger: 'gateway.http',
      message: 'GET /api/v1/ai/usage 200 12.35ms',
      module: 'logger.test',
      user_id: 'user-1',
      endpoint: '/api/v1/ai/usage',
      method: 'GET',
      status_code: 200,
      duration_ms: 12.35,
      service: 'flashcase-test',
      trace_id: traceId,
      span_id: spanId,
    });
    expect(typeof line?.line).toBe('number');
    expect(Number.isNaN(Date.parse(String(line?.timestamp)))).toBe(false);
  });

  it('sends each record once over the OTel logs API, redacted and tied to its span', async () => {
    const logger = getLogger('ai-proxy.usage');
    const tracer = trace.getTracer('test');
    let traceId = '';
    tracer.startActiveSpan('chat grok-4-fast', (span) => {
      traceId = span.spanContext().traceId;
      logger.warn('upstream said no', { authorization: 'Bearer sk-1', attempt: 2 });
      span.end();
    });
    // winston hands records to its transports through a stream: let it drain.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = logRecords.getFinishedLogRecords().filter((r) => r.body === 'upstream said no');
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record?.body).toBe('upstream said no');
    expect(record?.severityText).toBe('WARN');
    expect(record?.spanContext?.traceId).toBe(traceId);
    expect(record?.attributes.authorization).toBe('[REDACTED]');
    expect(record?.attributes.attempt).toBe(2);
    expect(record?.attributes.logger).toBe('ai-proxy.usage');
    expect(JSON.stringify(out.lines)).not.toContain('sk-1');
  });

  it('redacts secrets nested in metadata before the line is written', () => {
    getLogger('gateway.auth').info('login', {
      request: { headers: { authorization: 'Bearer secret-jwt', cookie: 'sid=9' }, body: { password: 'pw1' } },
      card: '4111 1111 1111 1111',
    });
    const text = out.lines.join('\n');
    expect(text).not.toContain('secret-jwt');
    expect(text).not.toContain('sid=9');
    expect(text).not.toContain('pw1');
    expect(text).not.toContain('4111 1111');
    expect(out.json()[0]).toMatchObject({ request: { headers: { authorization: '[REDACTED]' } } });
  });

  it('samples routine request logs but always keeps warnings, errors and AI usage records', () => {
    setupLogging({ environment: 'production', stream: out, sampleRate: 0 });
    const logger = getLogger('gateway.http');
    const requests = new RequestLogger(logger);
    for (let i = 0; i < 20; i++) requests.logRequest({ method: 'GET', endpoint: '/x', statusCode: 200, durationMs: 1 });
    requests.logRequest({ method: 'GET', endpoint: '/x', statusCode: 404, durationMs: 1 });
    requests.logRequest({ method: 'POST', endpoint: '/x', statusCode: 502, durationMs: 1 });
    new AILogger(logger).logAIRequest({
      operation: 'chat',
      model: 'grok-4-fast',
      tokensUsed: 120,
      costEstimate: 0.00012,
      durationMs: 800,
      userId: 'u1',
    });
    expect(out.json().map((line) => line.level)).toEqual(['WARN', 'ERROR', 'INFO']);
    expect(out.json()[2]).toMatchObject({ record_type: 'ai_usage', tokens_used: 120, cost_estimate: 0.00012 });
  });

  it('keeps about the configured fraction of routine request logs', () => {
    setupLogging({ environment: 'production', stream: out, sampleRate: 0.25 });
    const requests = new RequestLogger(getLogger('gateway.http'));
    for (let i = 0; i < 4000; i++)
      requests.logRequest({ method: 'GET', endpoint: '/x', statusCode: 200, durationMs: 1 });
    expect(out.lines.length).toBeGreaterThan(800);
    expect(out.lines.length).toBeLessThan(1200);
  });

  it('honours the log level', () => {
    setupLogging({ environment: 'production', stream: out, logLevel: 'warn' });
    const logger = getLogger('x');
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    expect(out.json().map((line) => line.message)).toEqual(['shown']);
  });

  it('writes coloured human lines in development in the seed format', () => {
    setupLogging({ environment: 'development', stream: out });
    getLogger('gateway.http').info('Server started', { port: 8000 });
    const line = out.lines[0] ?? '';
    // biome-ignore lint/suspicious/noControlCharactersInRegex: -- ANSI colour codes are the point
    const plain = line.replace(/\u001b\[\d+m/g, '');
    expect(plain).toMatch(/^\[INFO\] \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} - gateway\.http - Server started port=8000$/);
    expect(line).toContain('\u001b[32m[INFO]');
  });

  it('never writes prompt text from AI usage records unless asked to', () => {
    new AILogger(getLogger('ai-proxy')).logAIRequest({
      operation: 'chat',
      model: 'grok-4-fast',
      tokensUsed: 10,
      costEstimate: 0,
      durationMs: 5,
      prompt: 'my private flashcard about mitochondria',
    });
    expect(out.lines.join('\n')).not.toContain('mitochondria');
  });

  it("numbers each replica's usage records and carries the request id of the request they run for", async () => {
    const ids = ['audit-a', 'audit-b'];
    const a = new AILogger(getLogger('ai-proxy.usage'), { replicaId: ids[0] as string });
    const b = new AILogger(getLogger('ai-proxy.recovery'), { replicaId: ids[0] as string });
    const other = new AILogger(getLogger('ai-proxy.usage'), { replicaId: ids[1] as string });
    const record = { operation: 'chat', model: 'm', tokensUsed: 1, costEstimate: 0, durationMs: 1 };
    // A request's context, as the server span and request-id middleware open and fill it.
    const express = require('express') as typeof import('express');
    const app = express();
    app.use(serverSpans());
    app.use(requestId());
    app.get('/x', (_req, res) => {
      a.logAIRequest(record);
      res.end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    await fetch(`http://127.0.0.1:${port}/x`, { headers: { 'x-request-id': 'req-42' } });
    server.close();
    b.logAIRequest(record);
    other.logAIRequest(record);
    a.logAIRequest({ ...record, requestId: 'given' });
    const lines = out.json().filter((line) => line.record_type === 'ai_usage');
    expect(lines.map((l) => [l.replica_id, l.seq, l.request_id])).toEqual([
      ['audit-a', 1, 'req-42'],
      ['audit-a', 2, undefined],
      ['audit-b', 1, undefined],
      ['audit-a', 3, 'given'],
    ]);
    expect(typeof lines[0]?.trace_id).toBe('string');
  });
});
