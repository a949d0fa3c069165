import { createHmac } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHarness, INTERNAL_TOKEN, JWT_SECRET, startGateway } from './helpers/harness';

function forge(header: object, payload: object, secret = JWT_SECRET): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const s = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

const chat = { messages: [{ role: 'user', content: 'what is a neuron?' }] };

describe('gateway edge', () => {
  let g: GatewayHarness;
  beforeAll(async () => {
    g = await startGateway({
      RATE_LIMIT_GENERAL_PER_MINUTE: '0',
      RATE_LIMIT_GENERAL_PER_HOUR: '0',
      RATE_LIMIT_AI_PER_MINUTE: '0',
    });
  });
  afterAll(() => g.close());

  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${g.base}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${g.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const errorOf = async (res: Response) =>
    ((await res.json()) as { error: { code: string; message: string; request_id: string } }).error;

  it('refuses missing, malformed, forged, expired and alg-none tokens with 401 in the contract JSON', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const cases = [
      undefined,
      'not-a-jwt',
      forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'u1', exp: nowS + 60 }, 'wrong-secret-wrong-secret-wrong-secret'),
      forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'u1', exp: nowS - 120 }),
      forge({ alg: 'HS256', typ: 'JWT' }, { sub: 'u1' }),
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"sub":"admin","role":"admin","exp":${nowS + 60}}`).toString('base64url')}.`,
      forge({ alg: 'HS512', typ: 'JWT' }, { sub: 'u1', exp: nowS + 60 }),
    ];
    for (const token of cases) {
      const res = await get('/api/v1/ai/usage/me', token);
      expect(res.status, String(token)).toBe(401);
      const error = await errorOf(res);
      expect(error.code).toBe('unauthorized');
      expect(error.request_id).toBe(res.headers.get('x-request-id'));
    }
    expect(g.fake.requests).toHaveLength(0);
  });

  it('keeps global usage to admins and ignores identity headers forged from outside', async () => {
    const user = g.token('student-1');
    expect((await get('/api/v1/ai/usage', user)).status).toBe(403);
    const forged = await get('/api/v1/ai/usage', user, {
      'x-flashcase-user-id': 'root',
      'x-flashcase-user-role': 'admin',
      'x-internal-token': INTERNAL_TOKEN,
    });
    expect(forged.status).toBe(403);
    const mine = (await (await get('/api/v1/ai/usage/me', user, { 'x-flashcase-user-id': 'someone-else' })).json()) as {
      user_id: string;
    };
    expect(mine.user_id).toBe('student-1');
    expect((await get('/api/v1/ai/usage', g.token('ops', 'admin'))).status).toBe(200);
  });

  it('answers 400 for a body that is not JSON and 413 above 1 MiB', async () => {
    const user = g.token('student-2');
    const bad = await post('/api/v1/ai/chat', '{"messages":', user);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('invalid_request');
    const big = await post(
      '/api/v1/ai/chat',
      { messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024 + 1) }] },
      user,
    );
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('payload_too_large');
    const invalid = await post('/api/v1/ai/chat', { messages: 'hello' }, user);
    expect(invalid.status).toBe(400);
    expect((await errorOf(invalid)).message).toContain('messages');
  });

  it('forwards AI calls to ai-proxy with the caller identity and answers 404 for unknown routes', async () => {
    const res = await post('/api/v1/ai/chat', chat, g.token('student-3'));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { operation: string }).operation).toBe('chat');
    const me = (await (await get('/api/v1/ai/usage/me', g.token('student-3'))).json()) as {
      usage: { total_requests: number };
    };
    expect(me.usage.total_requests).toBe(1);
    const unknown = await get('/api/v1/nothing-here', g.token('student-3'));
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('not_found');
    const aiHealth = await get('/api/v1/ai/health');
    expect(aiHealth.status).toBe(200);
    expect(((await aiHealth.json()) as { provider: string }).provider).toBe('xai');
  });

  it('sets security headers and never leaks a stack trace', async () => {
    const res = await get('/api/v1/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const body = (await res.json()) as {
      status: string;
      database: string;
      checks: { memory: { utilization: number } };
    };
    expect(body.database).toBe('connected');
    expect(body.checks.memory.utilization).toBeGreaterThan(0);
  });

  it('passes streams through as they arrive, without buffering', async () => {
    g.fake.setBehavior({ kind: 'ok', chunkDelayMs: 60 });
    try {
      const res = await post('/api/v1/ai/chat', { ...chat, stream: true }, g.token('streamer'));
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = res.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
      const arrivals: number[] = [];
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arrivals.push(Date.now());
        text += Buffer.from(value).toString();
      }
      expect(text).toContain('"done":true');
      // the first bytes came long before the last: chunks were relayed one by one
      expect(arrivals.length).toBeGreaterThan(3);
      expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(200);
    } finally {
      g.fake.setBehavior({ kind: 'ok' });
    }
  });

  it('works with the official openai SDK pointed at the gateway with a JWT as API key', async () => {
    const client = new OpenAI({ baseURL: `${g.base}/api/v1/ai`, apiKey: g.token('sdk-user') });
    const completion = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const stream = await client.chat.completions.create({
      model: 'grok-4-fast',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let total = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      total = chunk.usage?.total_tokens ?? total;
    }
    expect(text).toBe(completion.choices[0]?.message.content);
    expect(total).toBe(completion.usage?.total_tokens);
    const unauthorised = new OpenAI({ baseURL: `${g.base}/api/v1/ai`, apiKey: 'nope', maxRetries: 0 });
    await expect(
      unauthorised.chat.completions.create({ model: 'grok-4-fast', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 401,
    });
  });

  it('serves cluster-wide request stats to the internal token or an admin, nobody else', async () => {
    await g.stats.flush();
    const internal = await get('/api/v1/internal/stats?window_s=300', undefined, {
      'x-internal-token': INTERNAL_TOKEN,
    });
    expect(internal.status).toBe(200);
    const stats = (await internal.json()) as {
      window_s: number;
      requests: number;
      status_4xx: number;
      status_5xx: number;
      error_rate: number;
      latency_p50_s: number | null;
      latency_p95_s: number | null;
    };
    expect(stats.window_s).toBe(300);
    expect(stats.requests).toBeGreaterThan(10);
    expect(stats.status_4xx).toBeGreaterThanOrEqual(9);
    expect(stats.error_rate).toBe(stats.status_5xx / stats.requests);
    expect(stats.latency_p95_s).toBeGreaterThan(0);
    expect((await get('/api/v1/internal/stats', g.token('ops', 'admin'))).status).toBe(200);
    expect((await get('/api/v1/internal/stats', g.token('student'))).status).toBe(403);
    expect((await get('/api/v1/internal/stats')).status).toBe(401);
    expect((await get('/api/v1/internal/stats', undefined, { 'x-internal-token': 'guess' })).status).toBe(401);
  });
});

describe('gateway general rate limits', () => {
  let g: GatewayHarness;
  beforeAll(async () => {
    g = await startGateway({ RATE_LIMIT_GENERAL_PER_MINUTE: '3', RATE_LIMIT_GENERAL_PER_HOUR: '100' });
  });
  afterAll(() => g.close());

  it('admits 3 authenticated requests a minute per user, refuses the 4th with the contract 429, and exempts health', async () => {
    const token = g.token('limited');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${g.base}/api/v1/ai/usage/me`, { headers: { authorization: `Bearer ${token}` } }),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(3);
    const body = (await refused[0]?.json()) as { error: { code: string; limit: string; retry_after_s: number } };
    expect(body.error).toMatchObject({ code: 'rate_limited', limit: 'general_per_minute' });
    expect(refused[0]?.headers.get('retry-after')).toBe(String(body.error.retry_after_s));
    expect(refused[0]?.headers.get('ratelimit-limit')).toBe('3');
    for (let i = 0; i < 5; i++) expect((await fetch(`${g.base}/api/v1/health`)).status).toBe(200);
    const other = await fetch(`${g.base}/api/v1/ai/usage/me`, {
      headers: { authorization: `Bearer ${g.token('other')}` },
    });
    expect(other.status).toBe(200);
  });
});
