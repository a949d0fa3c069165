import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@flashcase/config';
import { EmbeddedStore } from '@flashcase/store';
import { createInstruments, getLogger, requestId, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app';
import { HmacVerifier } from '../../src/auth/jwt';
import { Forwarder } from '../../src/proxy/forward';
import { backendRoutes } from '../../src/routes/backend';
import { RequestStatsRecorder } from '../../src/stats/request-stats';
import { signDevToken } from '../helpers/dev-token';
import { serve } from '../helpers/loopback';

const SECRET = 'backend-test-secret-backend-test-secret';

describe('other /api/v1/* routes with BACKEND_URL set', () => {
  let backend: Server;
  let gateway: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const forwarders: Forwarder[] = [];
  const store = new EmbeddedStore();

  beforeAll(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(201, { 'content-type': 'application/json', 'x-backend': 'flashcase-app' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const config = loadConfig('gateway', {
      ENVIRONMENT: 'test',
      JWT_SECRET: SECRET,
      BACKEND_URL: backendUrl,
      INTERNAL_TOKEN: 'internal-secret-internal-secret',
    });
    setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
    const make = (target: string, name: string, internalToken?: string) => {
      const forwarder = new Forwarder({ target, name, internalToken, timeoutMs: 2_000 });
      forwarders.push(forwarder);
      return forwarder;
    };
    const meters = testMeters();
    const app = createApp({
      config,
      store,
      storeState: () => 'embedded',
      instruments: createInstruments(meters.meter),
      verifier: new HmacVerifier(SECRET),
      aiProxy: make('http://127.0.0.1:1', 'ai-proxy', config.internalToken),
      alerting: make('http://127.0.0.1:1', 'alerting', config.internalToken),
      backend: make(backendUrl, 'backend'),
      stats: new RequestStatsRecorder(store, getLogger('test'), 60_000),
    });
    gateway = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => gateway.once('listening', resolve));
    base = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway.closeAllConnections();
    gateway.close();
    backend.close();
    await Promise.all(forwarders.map((f) => f.close()));
    await store.close();
  });

  it('forwards authenticated calls with the caller identity, never the JWT or the internal token', async () => {
    const res = await fetch(`${base}/api/v1/decks/42/cards?limit=5`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signDevToken(SECRET, 'student-9')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ front: 'ATP', back: 'energy currency' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-backend')).toBe('flashcase-app');
    expect(await res.json()).toEqual({ ok: true });
    const forwarded = seen.at(-1);
    expect(forwarded?.method).toBe('POST');
    expect(forwarded?.url).toBe('/api/v1/decks/42/cards?limit=5');
    expect(JSON.parse(forwarded?.body ?? '{}')).toEqual({ front: 'ATP', back: 'energy currency' });
    expect(forwarded?.headers['x-flashcase-user-id']).toBe('student-9');
    expect(forwarded?.headers['x-flashcase-user-role']).toBe('user');
    expect(forwarded?.headers.authorization).toBeUndefined();
    expect(forwarded?.headers['x-internal-token']).toBeUndefined();
  });

  it('does not forward unauthenticated calls', async () => {
    const before = seen.length;
    const res = await fetch(`${base}/api/v1/decks`);
    expect(res.status).toBe(401);
    expect(seen.length).toBe(before);
  });
});

describe('the forwarder', () => {
  it('sends a path to its configured origin as the request target, never resolved as a URL against it', async () => {
    const hits: Record<string, string[]> = { target: [], elsewhere: [] };
    const listen = async (name: string) => {
      const server = createServer((req, res) => {
        hits[name]?.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ from: name }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, port: (server.address() as AddressInfo).port };
    };
    const target = await listen('target');
    const elsewhere = await listen('elsewhere');
    const forwarder = new Forwarder({ target: `http://127.0.0.1:${target.port}`, name: 'backend', timeoutMs: 2_000 });
    const app = express();
    app.use(requestId());
    // `//host:port/x` resolved as a URL against the origin would name another host
    app.get('/go', (req, res) => forwarder.forward(req, res, `//127.0.0.1:${elsewhere.port}/stolen`));
    const front = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => front.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}/go`);
      expect(await res.json()).toEqual({ from: 'target' });
      expect(hits.target).toEqual([`//127.0.0.1:${elsewhere.port}/stolen`]);
      expect(hits.elsewhere).toEqual([]);
    } finally {
      front.close();
      target.server.close();
      elsewhere.server.close();
      await forwarder.close();
    }
  });
});

describe('other /api/v1/* routes without BACKEND_URL', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    server = await serve(backendRoutes(undefined));
  });
  afterAll(() => server.close());

  it('fall through to the contract 404', async () => {
    const res = await fetch(`${server.base}/api/v1/decks`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});
