import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forwarder } from '../../src/proxy/forward';
import { healthRoutes } from '../../src/routes/health';
import { forwarderTo, type InternalService, serve, startInternalService } from '../helpers/loopback';

describe('health routes', () => {
  let aiProxy: InternalService;
  let forwarder: Forwarder;
  let server: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    aiProxy = await startInternalService('ai-proxy');
    forwarder = forwarderTo(aiProxy.url, 'ai-proxy');
    server = await serve(healthRoutes({ version: '9.9.9', storeState: () => 'connected', aiProxy: forwarder }));
  });
  afterAll(async () => {
    await server.close();
    await forwarder.close();
    await aiProxy.close();
  });

  it('answer the gateway health itself, without a token', async () => {
    const res = await fetch(`${server.base}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: '9.9.9', database: 'connected' });
    expect(aiProxy.seen).toHaveLength(0);
  });

  it('answer ai-proxy health through the gateway, with the internal token, without a user token', async () => {
    const res = await fetch(`${server.base}/api/v1/ai/health`);
    expect(await res.json()).toEqual({ service: 'ai-proxy' });
    expect(aiProxy.seen).toHaveLength(1);
    expect(aiProxy.seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/ai/health' });
    expect(aiProxy.seen[0]?.headers['x-internal-token']).toBe('internal-test-token');
  });

  it('answer nothing else', async () => {
    expect((await fetch(`${server.base}/api/v1/health`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${server.base}/api/v1/ai/chat`)).status).toBe(404);
  });
});
