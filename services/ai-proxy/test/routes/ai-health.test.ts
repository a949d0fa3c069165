import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@flashcase/config';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { aiHealthRoutes } from '../../src/routes/ai-health';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** GET /api/v1/ai/health of the route alone (no store, no upstream) on a loopback port. */
async function health(env: Record<string, string>, provider: 'xai' | 'simulated') {
  const config = loadConfig('ai-proxy', { ENVIRONMENT: 'test', ...env });
  const app = express().use(aiHealthRoutes({ config, provider: { name: provider } }));
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ai/health`);
  return { status: res.status, body: await res.json() };
}

describe('GET /api/v1/ai/health', () => {
  it("answers the seed's shape from configuration alone", async () => {
    const { status, body } = await health(
      {
        XAI_API_KEY: 'xai-key',
        COURTLISTENER_API_KEY: 'cl-key',
        RATE_LIMIT_AI_PER_MINUTE: '7',
        RATE_LIMIT_AI_PER_HOUR: '70',
        AI_MODEL: 'grok-4',
        TOKEN_USAGE_ALERT_THRESHOLD: '123456',
      },
      'xai',
    );
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'healthy',
      grok_configured: true,
      courtlistener_configured: true,
      provider: 'xai',
      rate_limiting: { enabled: true, ai_per_minute: 7, ai_per_hour: 70 },
      cost_control: { model: 'grok-4', token_tracking_enabled: true, alert_threshold: 123456 },
    });
  });

  it('reports grok as not configured for the simulator, and no rate limiting when both limits are 0', async () => {
    const { body } = await health({ RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' }, 'simulated');
    expect(body).toMatchObject({
      grok_configured: false,
      courtlistener_configured: false,
      provider: 'simulated',
      rate_limiting: { enabled: false, ai_per_minute: 0, ai_per_hour: 0 },
    });
  });

  it('reports grok as not configured for xai without a key', async () => {
    const { body } = await health({ AI_PROVIDER: 'xai' }, 'xai');
    expect(body).toMatchObject({ grok_configured: false, provider: 'xai' });
  });
});
