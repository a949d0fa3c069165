import { routeOf } from '@flashcase/telemetry';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/authenticate';
import { HmacVerifier } from '../../src/auth/jwt';
import type { Forwarder } from '../../src/proxy/forward';
import { AI_ROUTES, aiRoutes } from '../../src/routes/ai';
import { signDevToken } from '../helpers/dev-token';
import { forwarderTo, type InternalService, serve, startInternalService } from '../helpers/loopback';

const SECRET = 'ai-routes-test-secret-0123456789abcdef';

/** Records the route template each answered request matched (what its metrics are labelled with). */
function recordRoutes(routes: string[]) {
  return function recordRoutesMiddleware(req: Request, res: Response, next: NextFunction): void {
    res.on('finish', () => routes.push(routeOf(req)));
    next();
  };
}

describe('AI routes', () => {
  let aiProxy: InternalService;
  let forwarder: Forwarder;
  let server: Awaited<ReturnType<typeof serve>>;
  const routes: string[] = [];
  beforeAll(async () => {
    aiProxy = await startInternalService('ai-proxy');
    forwarder = forwarderTo(aiProxy.url, 'ai-proxy');
    server = await serve(recordRoutes(routes), authenticate(new HmacVerifier(SECRET)), aiRoutes(forwarder));
  });
  afterAll(async () => {
    await server.close();
    await forwarder.close();
    await aiProxy.close();
  });

  it('forward every AI path to ai-proxy as sent, with the caller, each named route under its own template', async () => {
    const token = signDevToken(SECRET, 'student');
    const call = (path: string, method: string) =>
      fetch(`${server.base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    for (const path of AI_ROUTES) {
      const res = await call(`/api/v1/ai/${path}?window=1`, 'POST');
      expect(await res.json(), path).toEqual({ service: 'ai-proxy' });
      expect(aiProxy.seen.at(-1)).toMatchObject({ method: 'POST', url: `/api/v1/ai/${path}?window=1` });
      expect(aiProxy.seen.at(-1)?.headers['x-flashcase-user-id']).toBe('student');
    }
    await (await call('/api/v1/ai/some/new/route', 'GET')).arrayBuffer();
    expect(aiProxy.seen.at(-1)?.url).toBe('/api/v1/ai/some/new/route');
    expect(routes).toEqual([...AI_ROUTES.map((p) => `/api/v1/ai/${p}`), '/api/v1/ai/*rest']);
  });

  it('leave other paths alone', async () => {
    const seen = aiProxy.seen.length;
    const res = await fetch(`${server.base}/api/v1/decks`, {
      headers: { authorization: `Bearer ${signDevToken(SECRET, 'student')}` },
    });
    expect(res.status).toBe(404);
    expect(aiProxy.seen).toHaveLength(seen);
  });
});
