import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LineCapture, testMeters } from '@flashcase/testkit';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createInstruments,
  errorHandler,
  getLogger,
  HttpError,
  notFound,
  openAIErrorType,
  requestId,
  requestTelemetry,
  setupLogging,
} from '../../src/index';

describe('shared express middleware', () => {
  const meters = testMeters();
  const instruments = createInstruments(meters.meter);
  const logs = new LineCapture();
  let server: Server;
  let base: string;
  let releaseSlow: () => void = () => {};

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: logs, otlp: false });
    const logger = getLogger('test.http');
    const app = express();
    app.use(requestId());
    app.use(requestTelemetry({ instruments, logger, userIdOf: (req) => req.header('x-test-user') }));
    app.use(express.json({ limit: '1mb' }));
    app.get('/items/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.post('/echo', (req, res) => {
      res.json(req.body);
    });
    app.get('/limited', () => {
      throw new HttpError(429, 'rate_limited', 'Too many requests', {
        headers: { 'Retry-After': '12' },
        details: { limit: 'ai_per_minute', retry_after_s: 12 },
      });
    });
    app.get('/boom', () => {
      throw new Error('database password is hunter2');
    });
    app.get('/slow', async (_req, res) => {
      await new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
      res.json({ ok: true });
    });
    app.use(notFound());
    app.use(errorHandler({ logger }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await meters.shutdown();
  });
  beforeEach(() => logs.clear());

  it('answers unknown routes with the contract 404 JSON and a request id', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /nope', type: 'not_found_error', request_id: id },
    });
  });

  it('honours a sane client request id and replaces an insane one', async () => {
    const sane = await fetch(`${base}/items/1`, { headers: { 'x-request-id': 'abc-123.DEF:9' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123.DEF:9');
    const insane = await fetch(`${base}/items/1`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(insane.headers.get('x-request-id')).not.toBe('a b<script>');
    const huge = await fetch(`${base}/items/1`, { headers: { 'x-request-id': 'x'.repeat(500) } });
    expect(huge.headers.get('x-request-id')).toHaveLength(36);
  });

  it('turns a body that is not JSON into invalid_request 400', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('turns a body over the limit into payload_too_large 413', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(1024 * 1024 + 10) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('renders an HttpError with its headers and details', async () => {
    const res = await fetch(`${base}/limited`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('12');
    expect(await res.json()).toEqual({
      error: {
        code: 'rate_limited',
        message: 'Too many requests',
        type: 'rate_limit_error',
        request_id: res.headers.get('x-request-id'),
        limit: 'ai_per_minute',
        retry_after_s: 12,
      },
    });
  });

  it('hides internals of unexpected errors from the client and logs them redacted', async () => {
    const res = await fetch(`${base}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('at ');
    expect(JSON.parse(text).error.code).toBe('internal_error');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const errorLine = logs.json().find((line) => line.level === 'ERROR' && String(line.message).includes('/boom'));
    expect(errorLine).toBeDefined();
  });

  it('records duration by route template, never the raw path, and logs the request with its user', async () => {
    await fetch(`${base}/items/42`, { headers: { 'x-test-user': 'user-7' } });
    await fetch(`${base}/items/43`);
    const points = await meters.points();
    const routes = points
      .filter((p) => p.name === 'http.server.request.duration')
      .map((p) => p.attributes['http.route']);
    expect(routes).toContain('/items/:id');
    expect(routes.some((route) => String(route).includes('42'))).toBe(false);
    const item = points.find(
      (p) => p.name === 'http.server.request.duration' && p.attributes['http.route'] === '/items/:id',
    );
    expect(item?.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(item?.value.count).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const line = logs.json().find((l) => l.endpoint === '/items/:id' && l.user_id === 'user-7');
    expect(line).toMatchObject({ method: 'GET', status_code: 200 });
  });

  it('counts active requests while they run', async () => {
    const active = async () =>
      (await meters.points()).find((p) => p.name === 'http.server.active_requests')?.value as number | undefined;
    const pending = fetch(`${base}/slow`);
    for (let i = 0; i < 50 && (await active()) !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await active()).toBe(1);
    releaseSlow();
    await (await pending).json();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await active()).toBe(0);
  });
});

describe("OpenAI's error type", () => {
  it('maps every status class to the type OpenAI clients classify by', () => {
    expect(
      [400, 401, 403, 404, 413, 422, 429, 499, 500, 502, 503, 504].map((status) => openAIErrorType(status)),
    ).toEqual([
      'invalid_request_error',
      'authentication_error',
      'permission_error',
      'not_found_error',
      'invalid_request_error',
      'invalid_request_error',
      'rate_limit_error',
      'api_error',
      'api_error',
      'api_error',
      'api_error',
      'api_error',
    ]);
  });
});
