import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, readUntil } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, INTERNAL_TOKEN, REDIS_URL } from '../helpers/harness';
import { alternatingDialects, type Replica, replicaEnv, startReplica, stopReplicas } from '../helpers/replica';

describe('three ai-proxy replicas on one Redis', () => {
  const prefix = `flashcase-test:replicas:${process.pid}:${Date.now()}:`;
  let fake: FakeOpenAI;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    // Both usage dialects, alternating call by call.
    fake = await startFakeOpenAI({ apiKey: API_KEY, record: true, dialectOf: alternatingDialects() });
    const env = replicaEnv(prefix, fake.url, {
      RATE_LIMIT_AI_PER_MINUTE: '10',
      RATE_LIMIT_AI_PER_HOUR: '100',
      AI_TOKEN_BUDGET_PER_USER_PER_HOUR: '1200',
      AI_MAX_TOKENS_CHAT: '100',
    });
    // Each replica is kept as soon as it is up, so afterAll stops it even if a sibling failed.
    await Promise.all([0, 1, 2].map(async () => replicas.push(await startReplica(env))));
  });

  afterAll(async () => {
    await stopReplicas(replicas);
    await fake.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  const call = (i: number, userId: string, content = 'name a bone') =>
    fetch(`${replicas[i % replicas.length]?.base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-internal-token': INTERNAL_TOKEN,
        'x-flashcase-user-id': userId,
      },
      body: JSON.stringify({ messages: [{ role: 'user', content }] }),
    });

  it('admits exactly the per-minute limit for one user however the calls are spread', async () => {
    const answers = await Promise.all(Array.from({ length: 45 }, (_, i) => call(i, 'hammer', 'x')));
    const statuses = answers.map((r) => r.status);
    // (10 admitted calls reserve about 10 x 108 tokens: inside the 1200 budget, so only the rate limit refuses)
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    const limits = await Promise.all(
      answers
        .filter((r) => r.status === 429)
        .map(async (r) => ((await r.json()) as { error: { limit: string } }).error.limit),
    );
    expect(new Set(limits)).toEqual(new Set(['ai_per_minute']));
    for (const r of answers) if (r.status === 200) await r.arrayBuffer();
  });

  it('keeps the token budget across replicas: admitted tokens never exceed it', async () => {
    // about 300 prompt tokens + 100 max_tokens reserved per call: at most 3 fit in 1200 at once
    const long = 'describe the chambers valves and vessels of the human heart '.repeat(30);
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => call(i, 'budgeted', long)));
    let tokens = 0;
    let admitted = 0;
    for (const r of answers) {
      if (r.status === 200) {
        admitted++;
        tokens += ((await r.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
      } else {
        expect(r.status).toBe(429);
        expect(((await r.json()) as { error: { budget: string } }).error.budget).toBe('user_hourly_tokens');
      }
    }
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(3);
    expect(tokens).toBeLessThanOrEqual(1200);
  });

  it('leaves every counter at exactly the sum of upstream usage', async () => {
    const before = (await (
      await fetch(`${replicas[0]?.base}/api/v1/ai/usage`, {
        headers: {
          'x-internal-token': INTERNAL_TOKEN,
          'x-flashcase-user-id': 'admin',
          'x-flashcase-user-role': 'admin',
        },
      })
    ).json()) as { usage: { total_tokens: number; total_requests: number }; estimated_cost_usd: number };
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => call(i, `student-${i % 12}`, `card ${i}`)));
    let tokens = 0;
    let ticks = 0;
    for (const r of answers) {
      expect(r.status).toBe(200);
      const body = (await r.json()) as { usage: { total_tokens: number }; cost_estimate_usd: number };
      tokens += body.usage.total_tokens;
      ticks += Math.round(body.cost_estimate_usd * 1e10);
    }
    type Snapshot = { usage: { total_tokens: number; total_requests: number }; estimated_cost_usd: number };
    // A replica writes usage just after it answers (off the response path): another replica's
    // read may come a moment before the last writes land, so each is read until it settles.
    for (const replica of replicas) {
      const after = await readUntil(
        async () =>
          (await (
            await fetch(`${replica.base}/api/v1/ai/usage`, {
              headers: {
                'x-internal-token': INTERNAL_TOKEN,
                'x-flashcase-user-id': 'admin',
                'x-flashcase-user-role': 'admin',
              },
            })
          ).json()) as Snapshot,
        (snapshot) => snapshot.usage.total_requests - before.usage.total_requests >= 60,
        { timeoutMs: 10_000 },
      );
      expect(after.usage.total_tokens - before.usage.total_tokens).toBe(tokens);
      expect(after.usage.total_requests - before.usage.total_requests).toBe(60);
      expect(Math.round(after.estimated_cost_usd * 1e10) - Math.round(before.estimated_cost_usd * 1e10)).toBe(ticks);
    }
  });
});
