import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, OtlpReceiver } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from './helpers/dev-token';
import { API_KEY, INTERNAL_TOKEN, JWT_SECRET, REDIS_URL } from './helpers/harness';
import { type ServiceProcess, startService } from './helpers/processes';

const SERVER = 2;
const CLIENT = 3;

describe('one user request is one trace, from the gateway to the LLM call and Redis', () => {
  const receiver = new OtlpReceiver();
  const prefix = `flashcase-test:trace:${process.pid}:`;
  let fake: FakeOpenAI;
  let aiProxy: ServiceProcess;
  let gateway: ServiceProcess;
  let gatewayMetrics: string;
  let aiProxyMetrics: string;

  beforeAll(async () => {
    const endpoint = await receiver.start();
    fake = await startFakeOpenAI({ apiKey: API_KEY });
    const common = {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      INTERNAL_TOKEN,
      JWT_SECRET,
      LOG_LEVEL: 'info',
    };
    const aiMetricsPort = await freePort();
    aiProxyMetrics = `http://127.0.0.1:${aiMetricsPort}/metrics`;
    aiProxy = await startService('ai-proxy', {
      ...common,
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      METRICS_PORT: String(aiMetricsPort),
    });
    const gwMetricsPort = await freePort();
    gatewayMetrics = `http://127.0.0.1:${gwMetricsPort}/metrics`;
    gateway = await startService('gateway', {
      ...common,
      AI_PROXY_URL: aiProxy.base,
      METRICS_PORT: String(gwMetricsPort),
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await aiProxy?.stop();
    await fake?.close();
    await receiver.stop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  for (const stream of [false, true]) {
    it('listens with 8 sockets on its port, each with an accept queue for a burst of new connections', () => {
      // `ss` lists every socket on the port, its backlog as Send-Q. One socket accepts one connection
      // per event-loop turn (libuv), and Node's default backlog (511) overflows while a busy loop
      // accepts: clients it drops retry a second later.
      const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
      for (const service of [gateway, aiProxy]) {
        const lines = execFileSync('ss', ['-ltnH', `sport = :${service.port}`], { encoding: 'utf8' })
          .trim()
          .split('\n');
        expect(lines).toHaveLength(8);
        for (const line of lines) expect(Number(line.trim().split(/\s+/)[2])).toBe(Math.min(4096, somaxconn));
      }
    });

    it('refuses to start on a port a running copy listens on (EADDRINUSE), though it shares its own', async () => {
      await expect(
        startService(
          'gateway',
          { REDIS_URL, INTERNAL_TOKEN, JWT_SECRET, AI_PROXY_URL: aiProxy.base },
          { port: gateway.port, timeoutMs: 15_000 },
        ),
      ).rejects.toThrow(/EADDRINUSE/);
    });

    it(`links gateway, ai-proxy, the GenAI span and the Redis calls (${stream ? 'streaming' : 'plain'}, openai SDK)`, async () => {
      const user = `trace-user-${stream}`;
      const client = new OpenAI({ baseURL: `${gateway.base}/api/v1/ai`, apiKey: signDevToken(JWT_SECRET, user) });
      if (stream) {
        const chunks = await client.chat.completions.create({
          model: 'grok-4-fast',
          messages: [{ role: 'user', content: 'trace me' }],
          stream: true,
        });
        for await (const _chunk of chunks) {
          // drain
        }
      } else {
        await client.chat.completions.create({
          model: 'grok-4-fast',
          messages: [{ role: 'user', content: 'trace me' }],
        });
      }
      const isGenAi = (s: { name: string; attributes: Record<string, unknown> }) =>
        s.name === 'chat grok-4-fast' && s.attributes['flashcase.user.id'] === user;
      // Each process exports its own batch: wait for the gateway's server span too, not just ai-proxy's.
      await receiver.waitFor(() => {
        const traceId = receiver.spans.find(isGenAi)?.traceId;
        return receiver.spans.some(
          (s) => s.traceId === traceId && s.kind === SERVER && s.resource['service.name'] === 'flashcase-gateway',
        );
      });
      const genAi = receiver.spans.find(isGenAi);
      const trace = receiver.spans.filter((s) => s.traceId === genAi?.traceId);
      const byService = (name: string) => trace.filter((s) => s.resource['service.name'] === name);
      const gatewayServer = byService('flashcase-gateway').find((s) => s.kind === SERVER);
      const gatewayClient = byService('flashcase-gateway').find(
        (s) => s.kind === CLIENT && s.scope === '@flashcase/gateway',
      );
      const proxyServer = byService('flashcase-ai-proxy').find((s) => s.kind === SERVER);
      expect(gatewayServer).toBeDefined();
      expect(gatewayClient?.parentSpanId).toBeDefined();
      expect(proxyServer?.parentSpanId).toBe(gatewayClient?.spanId);
      expect(genAi?.kind).toBe(CLIENT);
      expect(genAi?.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'x_ai',
        'gen_ai.request.model': 'grok-4-fast',
        'flashcase.ai.operation': 'chat',
      });
      expect(Number(genAi?.attributes['gen_ai.usage.output_tokens'])).toBeGreaterThan(0);
      // the rate-limit check and the usage write are Redis calls inside the same trace
      const redisSpans = trace.filter((s) => s.scope === '@opentelemetry/instrumentation-ioredis');
      expect(redisSpans.length).toBeGreaterThanOrEqual(2);
      expect(new Set(redisSpans.map((s) => s.resource['service.name']))).toEqual(
        new Set(['flashcase-gateway', 'flashcase-ai-proxy']),
      );
      // every span of both services belongs to this one trace
      expect(byService('flashcase-ai-proxy').length).toBeGreaterThanOrEqual(3);
    });
  }

  it('ships ai-proxy logs over OTLP with the same trace id and no prompt text', async () => {
    await receiver.waitFor(() => receiver.logs.some((l) => l.attributes.record_type === 'ai_usage'));
    const usage = receiver.logs.find((l) => l.attributes.record_type === 'ai_usage');
    expect(usage?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(receiver.spans.some((s) => s.traceId === usage?.traceId)).toBe(true);
    expect(JSON.stringify(receiver.logs)).not.toContain('trace me');
  });

  it('exposes the contract metrics on both /metrics listeners', async () => {
    const proxy = await (await fetch(aiProxyMetrics)).text();
    expect(proxy).toMatch(/^flashcase_ai_requests_total\{.*outcome="success".*\} 2$/m);
    expect(proxy).toMatch(/^flashcase_ai_tokens_total\{.*type="completion"/m);
    expect(proxy).toMatch(/^flashcase_ai_cost_total\{/m);
    expect(proxy).toMatch(/^gen_ai_client_token_usage_bucket\{.*gen_ai_token_type="input"/m);
    expect(proxy).toMatch(/^gen_ai_client_operation_duration_bucket\{/m);
    expect(proxy).toMatch(/^flashcase_store_degraded\{?.* 0$/m);
    expect(proxy).toMatch(/^flashcase_ai_tokens_last_hour\{?.* \d+$/m);
    expect(proxy).not.toMatch(/trace-user/);
    const gw = await (await fetch(gatewayMetrics)).text();
    expect(gw).toMatch(/^http_server_request_duration_bucket\{.*http_route="\/api\/v1\/ai\/chat\/completions"/m);
    expect(gw).toMatch(/^http_server_active_requests/m);
    expect(gw).not.toMatch(/trace-user/);
  });
});
