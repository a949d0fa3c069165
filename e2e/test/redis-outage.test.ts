import { RedisServer } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, type ChatOutcome, chat, eventually, startChain, usageTotals } from './helpers/chain';

const STORE_TIMEOUT_MS = 250;

async function health(base: string): Promise<{ status: string; database: string }> {
  return (await (await fetch(`${base}/api/v1/health`)).json()) as { status: string; database: string };
}

async function degradedGauge(metricsUrl: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const match = /^flashcase_store_degraded(?:\{[^}]*\})? (\d+)/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('a Redis outage under traffic (fail-open, the default)', () => {
  let redis: RedisServer;
  let chain: Chain;
  const outcomes: Record<'before' | 'during' | 'after', ChatOutcome[]> = { before: [], during: [], after: [] };

  beforeAll(async () => {
    redis = await RedisServer.start();
    chain = await startChain({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'e2e-outage:',
      REDIS_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      RATE_LIMIT_AI_PER_MINUTE: '5',
      RATE_LIMIT_AI_PER_HOUR: '1000',
      RATE_LIMIT_GENERAL_PER_MINUTE: '0',
      RATE_LIMIT_GENERAL_PER_HOUR: '0',
    });
  });
  afterAll(async () => {
    await chain?.stop();
    await redis?.stop();
  });

  it('keeps answering promptly while Redis is down, says so, holds limits per replica, and loses no usage', async () => {
    const gw = chain.gateway.base;
    for (let i = 0; i < 12; i++) outcomes.before.push(await chat(gw, `before-${i % 4}`));
    expect(outcomes.before.every((o) => o.status === 200)).toBe(true);
    expect((await health(gw)).database).toBe('connected');

    await redis.kill();
    // traffic keeps flowing: every answer prompt, none a 5xx
    for (let i = 0; i < 12; i++) outcomes.during.push(await chat(gw, `during-${i % 4}`));
    expect(outcomes.during.map((o) => o.status)).toEqual(new Array(12).fill(200));
    expect(Math.max(...outcomes.during.map((o) => o.ms))).toBeLessThan(3_000);

    // and visibly degraded, on both services, in health and in the metric
    await eventually(async () => (await health(gw)).status === 'degraded', 5_000, 'gateway degraded');
    expect((await health(gw)).database).toBe('disconnected');
    expect((await health(chain.aiProxies[0]?.base ?? '')).database).toBe('disconnected');
    expect(await degradedGauge(chain.aiProxyMetrics[0] ?? '')).toBe(1);
    expect(await degradedGauge(chain.gatewayMetrics)).toBe(1);

    // usage reads are refused honestly meanwhile, not answered from partial data
    expect(await usageTotals(gw)).toBeUndefined();

    // the per-user AI limit still holds, on this replica's own counters
    const burst = await Promise.all(Array.from({ length: 9 }, () => chat(gw, 'burst-user')));
    expect(burst.filter((o) => o.status === 200)).toHaveLength(5);
    expect(burst.filter((o) => o.status === 429)).toHaveLength(4);
    outcomes.during.push(...burst.filter((o) => o.status === 200));

    await redis.restart();
    await eventually(async () => (await health(gw)).status === 'healthy', 15_000, 'gateway healthy again');
    await eventually(
      async () => (await health(chain.aiProxies[0]?.base ?? '')).status === 'healthy',
      15_000,
      'ai-proxy healthy',
    );
    expect(await degradedGauge(chain.aiProxyMetrics[0] ?? '')).toBe(0);
    for (let i = 0; i < 6; i++) outcomes.after.push(await chat(gw, `after-${i % 3}`));

    const all = [...outcomes.before, ...outcomes.during, ...outcomes.after].filter((o) => o.status === 200);
    const expectedTokens = all.reduce((sum, o) => sum + o.tokens, 0);
    await eventually(async () => (await usageTotals(gw))?.total_requests === all.length, 10_000, 'replayed usage');
    const totals = await usageTotals(gw);
    expect(totals).toMatchObject({ total_tokens: expectedTokens, total_requests: all.length });
    const line = (name: string, rows: ChatOutcome[]) =>
      `${name}: ${rows.length} answered 200, max ${Math.max(...rows.map((o) => o.ms)).toFixed(0)} ms`;
    console.log(
      [
        line('before the outage', outcomes.before),
        line('during the outage', outcomes.during),
        `during the outage, one user's burst of 9: ${burst.filter((o) => o.status === 200).length} admitted, ${burst.filter((o) => o.status === 429).length} refused 429 (limit 5/min, per replica)`,
        line('after Redis returned', outcomes.after),
        `usage counted ${totals?.total_tokens} tokens / ${totals?.total_requests} requests; answered ${expectedTokens} tokens / ${all.length} requests; lost ${expectedTokens - (totals?.total_tokens ?? 0)}`,
      ].join('\n'),
    );
  });
});

describe('a Redis outage with REDIS_FAILURE_MODE=closed', () => {
  let redis: RedisServer;
  let chain: Chain;

  beforeAll(async () => {
    redis = await RedisServer.start();
    chain = await startChain({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'e2e-closed:',
      REDIS_FAILURE_MODE: 'closed',
      REDIS_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
    });
  });
  afterAll(async () => {
    await chain?.stop();
    await redis?.stop();
  });

  it('refuses AI calls promptly with the contract error while Redis is away, and serves again after', async () => {
    const gw = chain.gateway.base;
    expect((await chat(gw, 'closed-user')).status).toBe(200);
    await redis.kill();
    const refused: ChatOutcome[] = [];
    for (let i = 0; i < 4; i++) refused.push(await chat(gw, 'closed-user'));
    expect(refused.map((o) => o.status)).toEqual([503, 503, 503, 503]);
    expect(refused.map((o) => o.code)).toEqual(new Array(4).fill('store_unavailable'));
    expect(Math.max(...refused.map((o) => o.ms))).toBeLessThan(3_000);
    expect((await (await fetch(`${gw}/api/v1/health`)).json()) as { status: string }).toMatchObject({
      status: 'degraded',
    });
    await redis.restart();
    await eventually(async () => (await chat(gw, 'closed-user')).status === 200, 15_000, 'AI calls admitted again');
  });
});
