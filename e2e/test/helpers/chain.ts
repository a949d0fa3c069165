import { createHmac } from 'node:crypto';
import { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, type ServiceProcess, startService } from '@flashcase/testkit';

export const JWT_SECRET = 'e2e-secret-e2e-secret-e2e-secret-0123456789';
export const INTERNAL_TOKEN = 'e2e-internal-token-0123456789abcdef';
export const API_KEY = 'xai-e2e-key';

/** An HS256 token for the gateway (what `pnpm token` prints). */
export function token(userId: string, role: 'user' | 'admin' = 'user'): string {
  const nowS = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: userId, role, iat: nowS, exp: nowS + 3600 })).toString('base64url');
  const signature = createHmac('sha256', JWT_SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export interface Chain {
  fake: FakeOpenAI;
  aiProxies: ServiceProcess[];
  gateway: ServiceProcess;
  gatewayMetrics: string;
  aiProxyMetrics: string[];
  stop(): Promise<void>;
}

/**
 * gateway -> N ai-proxy replicas (the gateway talks to the first) -> the fake upstream, as processes.
 * The upstream answers in both usage dialects, alternating (xAI: reasoning outside
 * `completion_tokens`; OpenAI: inside), so every count these tests check holds for both.
 * `fakeOptions` override the fake's (recording requests, another dialect rule).
 */
export async function startChain(
  env: Record<string, string>,
  replicas = 1,
  nodeArgs: string[] = [],
  fakeOptions: Omit<FakeOpenAIOptions, 'apiKey'> = {},
): Promise<Chain> {
  let answered = 0;
  const fake = await startFakeOpenAI({
    apiKey: API_KEY,
    record: false,
    dialectOf: () => (answered++ % 2 === 0 ? 'xai' : 'openai'),
    ...fakeOptions,
  });
  const common = { INTERNAL_TOKEN, JWT_SECRET, LOG_LEVEL: 'info', ...env };
  const aiProxyMetrics: string[] = [];
  const aiProxies: ServiceProcess[] = [];
  let gateway: ServiceProcess;
  let gwMetrics: number;
  try {
    for (let i = 0; i < replicas; i++) {
      const metricsPort = await freePort();
      aiProxyMetrics.push(`http://127.0.0.1:${metricsPort}/metrics`);
      aiProxies.push(
        await startService(
          'ai-proxy',
          {
            ...common,
            XAI_API_KEY: API_KEY,
            XAI_BASE_URL: fake.url,
            METRICS_PORT: String(metricsPort),
          },
          { nodeArgs },
        ),
      );
    }
    gwMetrics = await freePort();
    gateway = await startService(
      'gateway',
      {
        ...common,
        AI_PROXY_URL: aiProxies[0]?.base ?? '',
        METRICS_PORT: String(gwMetrics),
      },
      { nodeArgs },
    );
  } catch (err) {
    // Nothing started may outlive a failed start.
    await Promise.all(aiProxies.map((p) => p.kill()));
    await fake.close();
    throw err;
  }
  return {
    fake,
    aiProxies,
    gateway,
    gatewayMetrics: `http://127.0.0.1:${gwMetrics}/metrics`,
    aiProxyMetrics,
    async stop() {
      await gateway.stop();
      await Promise.all(aiProxies.map((p) => p.stop()));
      await fake.close();
    },
  };
}

export interface ChatOutcome {
  status: number;
  ms: number;
  tokens: number;
  code?: string;
}

/** One chat through `base` (gateway or ai-proxy) for `userId`; never throws. */
export async function chat(base: string, userId: string, direct = false): Promise<ChatOutcome> {
  const started = performance.now();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (direct) {
    headers['x-internal-token'] = INTERNAL_TOKEN;
    headers['x-flashcase-user-id'] = userId;
  } else {
    headers.authorization = `Bearer ${token(userId)}`;
  }
  try {
    const res = await fetch(`${base}/api/v1/ai/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ messages: [{ role: 'user', content: `flashcard for ${userId}` }] }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { usage?: { total_tokens: number }; error?: { code: string } };
    return {
      status: res.status,
      ms: performance.now() - started,
      tokens: body.usage?.total_tokens ?? 0,
      ...(body.error ? { code: body.error.code } : {}),
    };
  } catch {
    return { status: 0, ms: performance.now() - started, tokens: 0, code: 'network' };
  }
}

/** Cluster-wide usage totals as an admin sees them through the gateway. */
export async function usageTotals(
  gatewayBase: string,
): Promise<{ total_tokens: number; total_requests: number } | undefined> {
  const res = await fetch(`${gatewayBase}/api/v1/ai/usage`, {
    headers: { authorization: `Bearer ${token('ops', 'admin')}` },
  });
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { usage: { total_tokens: number; total_requests: number } }).usage;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
