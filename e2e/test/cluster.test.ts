import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { RedisCluster, readUntil, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, chat, INTERNAL_TOKEN } from './helpers/chain';

describe('three ai-proxy replicas on a 3-master Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  let cluster: RedisCluster;
  let fake: FakeOpenAI;
  let replicas: ServiceProcess[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    // Both usage dialects, alternating: xAI's reasoning outside completion_tokens, OpenAI's inside.
    let answered = 0;
    fake = await startFakeOpenAI({
      apiKey: API_KEY,
      record: false,
      dialectOf: () => (answered++ % 2 ? 'openai' : 'xai'),
    });
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      REDIS_KEY_PREFIX: 'e2e-cluster:',
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      INTERNAL_TOKEN,
      LOG_LEVEL: 'info',
      RATE_LIMIT_AI_PER_MINUTE: '7',
      RATE_LIMIT_AI_PER_HOUR: '1000',
    };
    replicas = await Promise.all([0, 1, 2].map(() => startService('ai-proxy', env)));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await fake?.close();
    await cluster?.stop();
  });

  it('admits exactly the limit for one user across replicas, and keeps counters exact', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => chat(replicas[i % 3]?.base ?? '', 'cluster-hammer', true)),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(23);

    const spread = await Promise.all(
      Array.from({ length: 36 }, (_, i) => chat(replicas[i % 3]?.base ?? '', `cluster-user-${i % 9}`, true)),
    );
    expect(spread.every((a) => a.status === 200)).toBe(true);
    const tokens = [...answers, ...spread].reduce((sum, a) => sum + a.tokens, 0);
    // A replica writes usage just after it answers (off the response path): another replica's
    // read may come a moment before the last writes land, so each is read until it settles.
    for (const replica of replicas) {
      const usage = await readUntil(
        async () => {
          const res = await fetch(`${replica.base}/api/v1/ai/usage`, {
            headers: {
              'x-internal-token': INTERNAL_TOKEN,
              'x-flashcase-user-id': 'ops',
              'x-flashcase-user-role': 'admin',
            },
          });
          return (
            (await res.json()) as {
              usage: { total_tokens: number; total_requests: number; total_reasoning_tokens: number };
            }
          ).usage;
        },
        (u) => u.total_requests >= 43,
      );
      expect(usage).toMatchObject({ total_tokens: tokens, total_requests: 43 });
      expect(usage.total_reasoning_tokens).toBeGreaterThan(0);
    }
    const health = (await (await fetch(`${replicas[0]?.base}/api/v1/health`)).json()) as { database: string };
    expect(health.database).toBe('connected');
  });
});
