import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DoneEvent, doneEvent, type Harness, readSse, startHarness } from '../helpers/harness';

const chat = { messages: [{ role: 'user', content: 'list three facts about enzymes' }] };

async function usage(h: Harness) {
  return (await (await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('a', 'admin') })).json()) as {
    usage: {
      total_tokens: number;
      total_requests: number;
      total_prompt_tokens: number;
      total_completion_tokens: number;
    };
  };
}

async function requestsBy(h: Harness, outcome: string): Promise<number> {
  const point = (await h.points()).find((p) => p.name === 'flashcase.ai.requests' && p.attributes.outcome === outcome);
  return (point?.value as number | undefined) ?? 0;
}

describe('upstream faults', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
        AI_UPSTREAM_TIMEOUT_MS: '400',
        AI_STREAM_IDLE_TIMEOUT_MS: '400',
      },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => h.fake.setBehavior({ kind: 'ok' }));

  it('maps an upstream 500 to 502 upstream_error, counted as a failed request', async () => {
    h.fake.setBehavior({ kind: 'status', status: 500 });
    const before = (await usage(h)).usage.total_requests;
    const res = await h.post('/api/v1/ai/chat', chat);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_error');
    expect((await usage(h)).usage.total_requests).toBe(before + 1);
    expect(await requestsBy(h, 'upstream_error')).toBeGreaterThanOrEqual(1);
    const duration = (await h.points()).find(
      (p) => p.name === 'gen_ai.client.operation.duration' && p.attributes['error.type'] === '500',
    );
    expect(duration).toBeDefined();
  });

  it('maps an upstream 429 to 503 upstream_rate_limited with its Retry-After', async () => {
    h.fake.setBehavior({ kind: 'status', status: 429, retryAfterS: 17 });
    const res = await h.post('/api/v1/ai/chat', chat);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('17');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_rate_limited');
  });

  it('maps malformed upstream JSON to 502', async () => {
    h.fake.setBehavior({ kind: 'malformed-json' });
    const res = await h.post('/api/v1/ai/chat', chat);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_error');
  });

  it('gives up on a hanging upstream after AI_UPSTREAM_TIMEOUT_MS with 504', async () => {
    h.fake.setBehavior({ kind: 'hang' });
    const started = Date.now();
    const res = await h.post('/api/v1/ai/chat', chat);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers 504 for a slow first byte on a stream too', async () => {
    h.fake.setBehavior({ kind: 'slow-first-byte', delayMs: 2_000 });
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    expect(res.status).toBe(504);
  });

  it('ends a stalled stream with an in-band error and counts the tokens that did arrive, estimated', async () => {
    h.fake.setBehavior({ kind: 'stall-stream', afterChunks: 3 });
    const before = await usage(h);
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    expect(res.status).toBe(200);
    const events = await readSse(res);
    const deltas = events.filter((e) => typeof e === 'object' && e !== null && 'delta' in e);
    expect(deltas.length).toBeGreaterThan(0);
    const last = events.at(-1) as { error: { code: string } };
    expect(last.error.code).toBe('upstream_timeout');
    const after = await usage(h);
    expect(after.usage.total_requests).toBe(before.usage.total_requests + 1);
    expect(after.usage.total_completion_tokens).toBeGreaterThan(before.usage.total_completion_tokens);
    expect(after.usage.total_prompt_tokens).toBeGreaterThan(before.usage.total_prompt_tokens);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const record = h.logs
      .json()
      .filter((l) => l.record_type === 'ai_usage' && l.outcome === 'upstream_timeout')
      .at(-1);
    expect(record).toMatchObject({ tokens_estimated: true });
  });

  it('survives a connection reset mid-stream: in-band error, estimated tokens counted', async () => {
    h.fake.setBehavior({ kind: 'reset-mid-stream', afterChunks: 2 });
    const before = await usage(h);
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    const events = await readSse(res);
    expect((events.at(-1) as { error: { code: string } }).error.code).toBe('upstream_error');
    const after = await usage(h);
    expect(after.usage.total_completion_tokens).toBeGreaterThan(before.usage.total_completion_tokens);
  });

  it('estimates usage when a stream never sends the usage chunk', async () => {
    h.fake.setBehavior({ kind: 'no-usage' });
    const before = await usage(h);
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    const events = await readSse(res);
    const done = doneEvent(events) as DoneEvent;
    expect(done.usage.total_tokens).toBeGreaterThan(0);
    const after = await usage(h);
    expect(after.usage.total_tokens - before.usage.total_tokens).toBe(done.usage.total_tokens);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(
      h.logs.json().some((l) => l.record_type === 'ai_usage' && l.tokens_estimated === true && l.outcome === 'success'),
    ).toBe(true);
  });

  it('counts the tokens of a stream whose client went away mid-way', async () => {
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 50 });
    const before = await usage(h);
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true }, 'leaver');
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.read();
    await reader?.cancel();
    // the proxy notices, aborts the upstream call and records what was generated, estimated
    let after = await usage(h);
    for (let i = 0; i < 50 && after.usage.total_requests === before.usage.total_requests; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await usage(h);
    }
    expect(after.usage.total_requests).toBe(before.usage.total_requests + 1);
    expect(after.usage.total_completion_tokens).toBeGreaterThan(before.usage.total_completion_tokens);
    expect(await requestsBy(h, 'client_closed')).toBeGreaterThanOrEqual(1);
  });
});

describe('a client that leaves during a non-streaming call', () => {
  let h: Harness;
  // A long upstream timeout: only the client's leaving can end the hanging call.
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_AI_PER_MINUTE: '0', AI_UPSTREAM_TIMEOUT_MS: '60000' } });
  });
  afterAll(() => h.close());

  it('abandons the upstream call at once and counts it as client_closed', async () => {
    h.fake.setBehavior({ kind: 'hang' });
    const closedBefore = await requestsBy(h, 'client_closed');
    const leaving = new AbortController();
    const call = fetch(`${h.base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { ...h.as('quitter'), 'content-type': 'application/json' },
      body: JSON.stringify(chat),
      signal: leaving.signal,
    }).catch(() => undefined);
    for (let i = 0; i < 200 && h.fake.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const upstreamCall = h.fake.requests[0];
    expect(upstreamCall?.abandoned).toBeUndefined();
    leaving.abort();
    await call;
    for (let i = 0; i < 200 && !upstreamCall?.abandoned; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstreamCall?.abandoned).toBe(true);
    let closed = await requestsBy(h, 'client_closed');
    for (let i = 0; i < 100 && closed === closedBefore; i++) {
      await new Promise((r) => setTimeout(r, 10));
      closed = await requestsBy(h, 'client_closed');
    }
    expect(closed).toBe(closedBefore + 1);
  });
});

describe('an upstream that refuses connections', () => {
  it('answers 502 upstream_error and keeps serving', async () => {
    const h = await startHarness({ env: { XAI_BASE_URL: 'http://127.0.0.1:1/v1' } });
    try {
      const res = await h.post('/api/v1/ai/chat', chat);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_error');
      expect((await fetch(`${h.base}/api/v1/health`)).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
