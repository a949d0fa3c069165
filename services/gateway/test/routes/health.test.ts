import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../src/routes/health';
import { type ForwardingFixture, serveForwarding } from '../helpers/loopback';

describe('health routes', () => {
  let server: ForwardingFixture;
  beforeAll(async () => {
    server = await serveForwarding('ai-proxy', (aiProxy) => [
      healthRoutes({ version: '9.9.9', storeState: () => 'connected', aiProxy }),
    ]);
  });
  afterAll(() => server.close());

  it('answer the gateway health itself, without a token', async () => {
    const res = await fetch(`${server.base}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: '9.9.9', database: 'connected' });
    expect(server.service.seen).toHaveLength(0);
  });

  it('answer ai-proxy health through the gateway, with the internal token, without a user token', async () => {
    const res = await fetch(`${server.base}/api/v1/ai/health`);
    expect(await res.json()).toEqual({ service: 'ai-proxy' });
    expect(server.service.seen).toHaveLength(1);
    expect(server.service.seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/ai/health' });
    expect(server.service.seen[0]?.headers['x-internal-token']).toBe('internal-test-token');
  });

  it('answer nothing else', async () => {
    expect((await fetch(`${server.base}/api/v1/health`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${server.base}/api/v1/ai/chat`)).status).toBe(404);
  });
});
