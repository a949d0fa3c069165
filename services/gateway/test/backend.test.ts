import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@flashcase/config';
import { EmbeddedStore } from '@flashcase/store';
import { createInstruments, getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { HmacVerifier, signDevToken } from '../src/auth/jwt';
import { Forwarder } from '../src/proxy/forward';
import { RequestStatsRecorder } from '../src/stats/request-stats';

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
