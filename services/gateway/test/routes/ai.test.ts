import { routeOf } from '@flashcase/telemetry';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/authenticate';
import { HmacVerifier } from '../../src/auth/jwt';
import { AI_ROUTES, aiRoutes } from '../../src/routes/ai';
import { signDevToken } from '../helpers/dev-token';
import { type ForwardingFixture, serveForwarding } from '../helpers/loopback';

const SECRET = 'ai-routes-test-secret-0123456789abcdef';

/** Records the route template each answered request matched (what its metrics are labelled with). */
function recordRoutes(routes: string[]) {
  return function recordRoutesMiddleware(req: Request, res: Response, next: NextFunction): void {
    res.on('finish', () => routes.push(routeOf(req)));
    next();
  };
}

describe('AI routes', () => {
  let server: ForwardingFixture;
  const routes: string[] = [];
  beforeAll(async () => {
    server = await serveForwarding('ai-proxy', (aiProxy) => [
      recordRoutes(routes),
      authenticate(new HmacVerifier(SECRET)),
      aiRoutes(aiProxy),
    ]);
  });
  afterAll(() => server.close());

  it('forward every AI path to ai-proxy as sent, with the caller, each named route under its own template', async () => {
    const token = signDevToken(SECRET, 'student');
    const call = (path: string, method: string) =>
      fetch(`${server.base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    for (const path of AI_ROUTES) {
      const res = await call(`/api/v1/ai/${path}?window=1`, 'POST');
      expect(await res.json(), path).toEqual({ service: 'ai-proxy' });
      expect(server.service.seen.at(-1)).toMatchObject({ method: 'POST', url: `/api/v1/ai/${path}?window=1` });
      expect(server.service.seen.at(-1)?.headers['x-flashcase-user-id']).toBe('student');
    }
    await (await call('/api/v1/ai/some/new/route', 'GET')).arrayBuffer();
    expect(server.service.seen.at(-1)?.url).toBe('/api/v1/ai/some/new/route');
    expect(routes).toEqual([...AI_ROUTES.map((p) => `/api/v1/ai/${p}`), '/api/v1/ai/*rest']);
  });

  it('leave other paths alone', async () => {
    const seen = server.service.seen.length;
    const res = await fetch(`${server.base}/api/v1/decks`, {
      headers: { authorization: `Bearer ${signDevToken(SECRET, 'student')}` },
    });
    expect(res.status).toBe(404);
    expect(server.service.seen).toHaveLength(seen);
  });
});
