import { deleteKeys, RATE_LIMITS_OFF } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, eventually, startChain, token } from './helpers/chain';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How one stream's client saw it end. */
interface Ended {
  done: boolean;
  errorCode?: string;
  left: boolean;
}

/** A `chat/completions` stream through the gateway; `leaveAfter` content chunks, the client goes. */
async function stream(base: string, userId: string, leaveAfter?: number): Promise<Ended> {
  const ended: Ended = { done: false, left: false };
  try {
    const res = await fetch(`${base}/api/v1/ai/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token(userId)}` },
      body: JSON.stringify({
        model: 'grok-4-fast',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: `a card for ${userId}` }],
      }),
    });
    if (res.status !== 200) return { ...ended, errorCode: `http_${res.status}` };
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (leaveAfter !== undefined && (text.match(/"content":/g)?.length ?? 0) >= leaveAfter) {
        ended.left = true;
        await reader.cancel();
        return ended;
      }
    }
    ended.done = text.endsWith('data: [DONE]\n\n');
    ended.errorCode = /"error":\{[^}]*"code":"([a-z_]+)"/.exec(text)?.[1];
  } catch {
    ended.left = true;
  }
  return ended;
}

async function gaugeValue(metricsUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  const match = new RegExp(`^${name}\\S*\\s+(\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('500 streams held open through gateway -> ai-proxy', () => {
  let chain: Chain;
  const prefix = `e2e-streams:${process.pid}:${Date.now()}:`;

  beforeAll(async () => {
    chain = await startChain(
      {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        AI_STREAM_IDLE_TIMEOUT_MS: '1000',
        ...RATE_LIMITS_OFF,
      },
      1,
      [],
      { record: true, replyTokens: 20 },
    );
  });
  afterAll(async () => {
    await chain?.stop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('counts every stream once, as the upstream served it, when clients leave and upstreams stall', async () => {
    const base = chain.gateway.base;
    // 400 paced streams, a quarter of whose clients leave after their first content chunk...
    chain.fake.setBehavior({ kind: 'ok', chunkDelayMs: 100 });
    const paced = Array.from({ length: 400 }, (_, i) =>
      i % 4 === 0 ? stream(base, `left-${i % 10}`, 1) : stream(base, `ok-${i % 10}`),
    );
    await eventually(async () => chain.fake.answers.length === 400, 30_000, '400 streams open upstream');
    // ...and 100 whose upstream stalls after two chunks (the idle timeout ends them in-band).
    chain.fake.setBehavior({ kind: 'stall-stream', afterChunks: 2 });
    const stalled = Array.from({ length: 100 }, (_, i) => stream(base, `stall-${i % 10}`));
    const ended = await Promise.all([...paced, ...stalled]);

    const ok = ended.filter((_, i) => i < 400 && i % 4 !== 0);
    expect(ok.every((e) => e.done && e.errorCode === undefined)).toBe(true);
    expect(ended.filter((e) => e.left)).toHaveLength(100);
    expect(ended.slice(400).every((e) => e.errorCode === 'upstream_timeout')).toBe(true);

    // The upstream's bill: usage went out on exactly the 300 streams that completed.
    const served = chain.fake.answers.filter((a) => a.usage !== undefined);
    expect(served).toHaveLength(300);
    const servedTokens = served.reduce((sum, a) => sum + (a.usage as { total_tokens: number }).total_tokens, 0);

    const usageOf = async (user: string) => {
      const res = await fetch(`${base}/api/v1/ai/usage/me`, { headers: { authorization: `Bearer ${token(user)}` } });
      return ((await res.json()) as { usage: { total_tokens: number; total_requests: number } }).usage;
    };
    const sumOver = async (group: string) => {
      const users = await Promise.all(Array.from({ length: 10 }, (_, i) => usageOf(`${group}-${i}`)));
      return users.reduce(
        (sum, u) => ({ tokens: sum.tokens + u.total_tokens, requests: sum.requests + u.total_requests }),
        { tokens: 0, requests: 0 },
      );
    };
    await eventually(async () => (await sumOver('ok')).requests === 300, 15_000, 'the completed streams counted');
    expect(await sumOver('ok')).toEqual({ tokens: servedTokens, requests: 300 });
    // Cut short: each counted once, estimated from the prompt and what arrived.
    await eventually(
      async () => (await sumOver('left')).requests === 100 && (await sumOver('stall')).requests === 100,
      15_000,
      'the cut streams counted',
    );
    expect((await sumOver('stall')).tokens).toBeGreaterThan(0);

    // Nothing stays open on either hop.
    await eventually(
      async () => (await gaugeValue(chain.aiProxyMetrics[0] as string, 'flashcase_ai_streams_active')) === 0,
      15_000,
      'no stream open on ai-proxy',
    );
  });
});
