import { deleteKeys, RATE_LIMITS_OFF, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, startChain, token, usageTotals } from './helpers/chain';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Finished {
  status: number;
  tokens: number;
  complete: boolean;
}

/** A streaming chat read to its end: complete only with the final usage event and [DONE]. */
async function streamChat(base: string, userId: string): Promise<Finished> {
  try {
    const res = await fetch(`${base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token(userId)}` },
      body: JSON.stringify({
        messages: [{ role: 'user', content: `explain cell division to ${userId}` }],
        stream: true,
      }),
    });
    const text = await res.text();
    const done = text
      .split('\n\n')
      .map((e) => e.replace(/^data: /, ''))
      .filter((e) => e.startsWith('{"done"'))
      .map((e) => JSON.parse(e) as { usage: { total_tokens: number } })[0];
    return {
      status: res.status,
      tokens: done?.usage.total_tokens ?? 0,
      complete: text.includes('[DONE]') && done !== undefined,
    };
  } catch {
    return { status: 0, tokens: 0, complete: false };
  }
}

describe('graceful shutdown under load', () => {
  let chain: Chain;
  const prefix = `e2e-shutdown:${process.pid}:${Date.now()}:`;

  beforeAll(async () => {
    chain = await startChain({
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      ...RATE_LIMITS_OFF,
    });
  });
  afterAll(async () => {
    await chain?.stop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('finishes in-flight streams on SIGTERM, exits 0, and counts each request exactly once after a restart', async () => {
    chain.fake.setBehavior({ kind: 'ok', chunkDelayMs: 150 });
    const inFlight = Array.from({ length: 8 }, (_, i) => streamChat(chain.gateway.base, `shutdown-user-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const proxy = chain.aiProxies[0];
    if (!proxy) throw new Error('no ai-proxy');
    const exitCode = proxy.stop();
    const finished = await Promise.all(inFlight);
    expect(await exitCode).toBe(0);
    expect(finished.map((f) => f.status)).toEqual(new Array(8).fill(200));
    expect(finished.every((f) => f.complete)).toBe(true);

    // a new replica on the same address and Redis sees exactly what the stopped one counted
    chain.fake.setBehavior({ kind: 'ok' });
    const restarted = await startService(
      'ai-proxy',
      {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        XAI_API_KEY: 'xai-e2e-key',
        XAI_BASE_URL: chain.fake.url,
        INTERNAL_TOKEN: 'e2e-internal-token-0123456789abcdef',
        LOG_LEVEL: 'info',
      },
      { port: proxy.port },
    );
    chain.aiProxies[0] = restarted;
    const totals = await usageTotals(chain.gateway.base);
    expect(totals).toMatchObject({
      total_requests: 8,
      total_tokens: finished.reduce((sum, f) => sum + f.tokens, 0),
    });
  });

  it('drains the gateway on SIGTERM too: in-flight streams complete, new connections are refused', async () => {
    chain.fake.setBehavior({ kind: 'ok', chunkDelayMs: 150 });
    const inFlight = Array.from({ length: 4 }, (_, i) => streamChat(chain.gateway.base, `gw-shutdown-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exitCode = chain.gateway.stop();
    const finished = await Promise.all(inFlight);
    expect(await exitCode).toBe(0);
    expect(finished.every((f) => f.status === 200 && f.complete)).toBe(true);
    await expect(fetch(`${chain.gateway.base}/api/v1/health`)).rejects.toThrow();
  });
});
