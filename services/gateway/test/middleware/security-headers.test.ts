import { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityHeaders } from '../../src/middleware/security-headers';
import { serve } from '../helpers/loopback';

const EXPECTED = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};

describe('security headers', () => {
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    const routes = Router();
    routes.get('/ok', (_req, res) => {
      res.json({ ok: true });
    });
    server = await serve(securityHeaders(), routes);
  });
  afterAll(() => server.close());

  const headersOf = (res: Response) => Object.fromEntries(Object.keys(EXPECTED).map((h) => [h, res.headers.get(h)]));

  it('forbid sniffing, framing, referrers, cross-origin reads, loading anything and caching', async () => {
    const res = await fetch(`${server.base}/ok`);
    expect(res.status).toBe(200);
    expect(headersOf(res)).toEqual(EXPECTED);
  });

  it('are on error answers too', async () => {
    const res = await fetch(`${server.base}/missing`);
    expect(res.status).toBe(404);
    expect(headersOf(res)).toEqual(EXPECTED);
  });
});
