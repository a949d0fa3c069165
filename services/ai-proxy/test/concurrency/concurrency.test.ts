import { readUntil } from '@flashcase/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoneEvent, doneEvent, type Harness, readSse, startHarness } from '../helpers/harness';

const chat = { messages: [{ role: 'user', content: 'name the bones of the inner ear' }] };

interface ErrorJson {
  error: { code: string; type: string; limit: string; retry_after_s: number; message: string };
}

/** A request whose answer the test holds open; `settled` turns true once fetch resolves or fails. */
interface Held {
  response: Promise<Response>;
  readonly settled: boolean;
  abort(): void;
}

function hold(h: Harness, body: unknown, userId = 'user-1'): Held {
  const controller = new AbortController();
  let settled = false;
  const response = fetch(`${h.base}/api/v1/ai/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...h.as(userId) },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  response.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    response,
    get settled() {
      return settled;
    },
    abort: () => controller.abort(),
  };
}

async function metric(h: Harness, name: string, attributes: Record<string, string> = {}): Promise<number> {
  const point = (await h.points()).find(
    (p) => p.name === name && Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
  );
  return (point?.value as number | undefined) ?? 0;
}

async function totalRequests(h: Harness): Promise<number> {
  const res = await fetch(`${h.base}/api/v1/ai/usage`, { headers: h.as('admin', 'admin') });
  return ((await res.json()) as { usage: { total_requests: number } }).usage.total_requests;
}

function expectConcurrency503(res: Response, body: ErrorJson, limit: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(body.error).toMatchObject({ code: 'service_unavailable', type: 'api_error', limit, retry_after_s: 1 });
}

describe('AI_MAX_CONCURRENT_STREAMS', () => {
  let h: Harness;
  const held: Held[] = [];
  beforeAll(async () => {
    h = await startHarness({
      env: { AI_MAX_CONCURRENT_STREAMS: '2', RATE_LIMIT_AI_PER_MINUTE: '20', RATE_LIMIT_AI_PER_HOUR: '0' },
    });
  });
  afterEach(async () => {
    for (const request of held.splice(0)) request.abort();
    h.fake.setBehavior({ kind: 'ok' });
    // Every stream a test left open ends and gives its slot back (none leaks into the next test).
    await readUntil(
      () => metric(h, 'flashcase.ai.streams.active'),
      (value) => value === 0,
    );
  });
  afterAll(() => h.close());

  it('answers a stream above the limit 503 with Retry-After at once, while the open streams go on', async () => {
    // The role chunk comes at once, every content chunk a minute apart: both streams stay open.
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 60_000 });
    const first = hold(h, { ...chat, stream: true }, 'streamer-1');
    const second = hold(h, { ...chat, stream: true }, 'streamer-2');
    held.push(first, second);
    expect((await first.response).status).toBe(200);
    expect((await second.response).status).toBe(200);
    expect(await metric(h, 'flashcase.ai.streams.active')).toBe(2);
    const upstreamCalls = h.fake.requests.length;
    const requestsBefore = await totalRequests(h);

    const refused = await h.post('/api/v1/ai/chat', { ...chat, stream: true }, 'streamer-3');
    expectConcurrency503(refused, (await refused.json()) as ErrorJson, 'streams');
    expect(await metric(h, 'flashcase.ai.concurrency.rejections', { limit: 'streams' })).toBe(1);

    // Refused before any upstream call, usage record or rate-limit hit.
    expect(h.fake.requests.length).toBe(upstreamCalls);
    expect(await totalRequests(h)).toBe(requestsBefore);
    // Only streams are limited: a plain call still goes through, and its rate-limit window holds
    // only what was admitted (the two streams and itself), not the refused stream.
    const plain = await h.post('/api/v1/ai/chat', chat, 'streamer-3');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('ratelimit-remaining')).toBe('19');
    // The two streams were open all along.
    expect(await metric(h, 'flashcase.ai.streams.active')).toBe(2);
  });

  it('frees a slot when a stream ends: the gauge goes back down and the next stream is admitted', async () => {
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 60_000 });
    const first = hold(h, { ...chat, stream: true }, 'gauge-1');
    const second = hold(h, { ...chat, stream: true }, 'gauge-2');
    held.push(first, second);
    await Promise.all([first.response, second.response]);
    expect(await metric(h, 'flashcase.ai.streams.active')).toBe(2);

    // One client leaves: its stream ends (counted as client_closed) and gives its slot back.
    first.abort();
    const active = await readUntil(
      () => metric(h, 'flashcase.ai.streams.active'),
      (value) => value === 1,
    );
    expect(active).toBe(1);

    h.fake.setBehavior({ kind: 'ok' });
    const next = await h.post('/api/v1/ai/chat', { ...chat, stream: true }, 'gauge-3');
    expect(next.status).toBe(200);
    expect(doneEvent(await readSse(next))).toMatchObject({ done: true });
    second.abort();
    expect(
      await readUntil(
        () => metric(h, 'flashcase.ai.streams.active'),
        (value) => value === 0,
      ),
    ).toBe(0);
  });
});

describe('unbounded by default', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_AI_PER_MINUTE: '0', RATE_LIMIT_AI_PER_HOUR: '0' } });
  });
  afterAll(() => h.close());

  it('opens more upstream streams at once than the old 256-connection cap, none queued behind another', async () => {
    h.fake.setBehavior({ kind: 'ok', chunkDelayMs: 60_000 });
    const streams = Array.from({ length: 300 }, (_, i) => hold(h, { ...chat, stream: true }, `crowd-${i}`));
    const answers = await Promise.all(streams.map((s) => s.response));
    // Each has its headers (sent on the upstream's first chunk) while all 300 are still open.
    expect(answers.every((res) => res.status === 200)).toBe(true);
    expect(await metric(h, 'flashcase.ai.streams.active')).toBe(300);
    expect(h.provider.connections.active).toBe(300);
    expect(h.fake.requests.length).toBe(300);
    for (const stream of streams) stream.abort();
    expect(
      await readUntil(
        () => metric(h, 'flashcase.ai.streams.active'),
        (value) => value === 0,
        { timeoutMs: 10_000 },
      ),
    ).toBe(0);
  });
});

describe('AI_UPSTREAM_MAX_CONNECTIONS', () => {
  let h: Harness;
  const held: Held[] = [];
  beforeAll(async () => {
    h = await startHarness({
      env: { AI_UPSTREAM_MAX_CONNECTIONS: '2', RATE_LIMIT_AI_PER_MINUTE: '20', RATE_LIMIT_AI_PER_HOUR: '0' },
    });
  });
  afterEach(async () => {
    for (const request of held.splice(0)) request.abort();
    h.fake.setBehavior({ kind: 'ok' });
    await readUntil(
      async () => h.provider.connections.active,
      (n) => n === 0,
    );
  });
  afterAll(() => h.close());

  it('answers a call that finds every connection busy 503 with Retry-After at once, never queued', async () => {
    h.fake.setBehavior({ kind: 'hang' });
    const first = hold(h, chat, 'pool-1');
    const second = hold(h, chat, 'pool-2');
    held.push(first, second);
    const arrived = await readUntil(
      async () => h.fake.requests.length,
      (n) => n === 2,
    );
    expect(arrived).toBe(2);
    expect(h.provider.connections.active).toBe(2);

    const plain = await h.post('/api/v1/ai/chat', chat, 'pool-3');
    expectConcurrency503(plain, (await plain.json()) as ErrorJson, 'upstream_connections');
    const stream = await h.post('/api/v1/ai/chat', { ...chat, stream: true }, 'pool-3');
    expectConcurrency503(stream, (await stream.json()) as ErrorJson, 'upstream_connections');
    // The held calls are still waiting on their connections: the 503s did not wait behind them.
    expect(first.settled).toBe(false);
    expect(second.settled).toBe(false);
    expect(h.fake.requests.length).toBe(2);
    expect(await metric(h, 'flashcase.ai.concurrency.rejections', { limit: 'upstream_connections' })).toBe(2);
    // No usage for what was refused (the held calls are not finished yet either).
    expect(await totalRequests(h)).toBe(0);

    first.abort();
    second.abort();
    expect(
      await readUntil(
        async () => h.provider.connections.active,
        (n) => n === 0,
      ),
    ).toBe(0);
    h.fake.setBehavior({ kind: 'ok' });
    const after = await h.post('/api/v1/ai/chat', chat, 'pool-3');
    expect(after.status).toBe(200);
    // pool-3's window holds this call only: the two refusals took nothing from it.
    expect(after.headers.get('ratelimit-remaining')).toBe('19');
  });
});

describe('AI_STREAM_IDLE_TIMEOUT_MS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        AI_STREAM_IDLE_TIMEOUT_MS: '300',
        AI_UPSTREAM_TIMEOUT_MS: '60000',
        RATE_LIMIT_AI_PER_MINUTE: '0',
        RATE_LIMIT_AI_PER_HOUR: '0',
      },
    });
  });
  afterEach(() => h.fake.setBehavior({ kind: 'ok' }));
  afterAll(() => h.close());

  it('ends a stream whose upstream goes silent with an in-band upstream_timeout, usage estimated', async () => {
    h.fake.setBehavior({ kind: 'stall-stream', afterChunks: 2 });
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    expect(res.status).toBe(200);
    const events = await readSse(res);
    expect(events.some((e) => typeof e === 'object' && e !== null && 'delta' in e)).toBe(true);
    expect((events.at(-1) as ErrorJson).error.code).toBe('upstream_timeout');
    expect(await totalRequests(h)).toBe(1);
    const record = await readUntil(
      async () => h.logs.json().find((l) => l.record_type === 'ai_usage' && l.outcome === 'upstream_timeout'),
      (line) => line !== undefined,
    );
    expect(record).toMatchObject({ tokens_estimated: true });
    expect(Number(record?.tokens_used)).toBeGreaterThan(0);
    expect(await metric(h, 'flashcase.ai.streams.active')).toBe(0);
  });

  it('ends a silent chat/completions stream with the error event in OpenAI shape', async () => {
    h.fake.setBehavior({ kind: 'stall-stream', afterChunks: 1 });
    const res = await h.post('/api/v1/ai/chat/completions', { ...chat, model: 'grok-4-fast', stream: true });
    expect(res.status).toBe(200);
    const events = await readSse(res);
    expect((events.at(-1) as ErrorJson).error).toMatchObject({ code: 'upstream_timeout', type: 'api_error' });
  });

  it('waits for the first byte on AI_UPSTREAM_TIMEOUT_MS, not on the idle timeout', async () => {
    // Held back longer than the idle timeout, far shorter than the upstream timeout.
    h.fake.setBehavior({ kind: 'slow-first-byte', delayMs: 1_000 });
    const res = await h.post('/api/v1/ai/chat', { ...chat, stream: true });
    expect(res.status).toBe(200);
    const done = doneEvent(await readSse(res)) as DoneEvent;
    expect(done.usage.total_tokens).toBeGreaterThan(0);
  });
});
