import type { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient, RedisStore } from '../../src/index';
import { describeCountersStore } from '../helpers/contract';
import { describeInflightRecovery } from '../helpers/inflight';
import { RedisCluster, uniquePrefix } from '../helpers/redis';

// One cluster for the whole file, started by the first store that needs it.
let cluster: Promise<RedisCluster> | undefined;

afterAll(async () => {
  await (await cluster)?.stop();
});

async function ready(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise((resolve) => redis.once('ready', resolve));
}

async function clusterStore(prefix = uniquePrefix()): Promise<RedisStore> {
  cluster ??= RedisCluster.start();
  const redis = createRedisClient({ clusterNodes: (await cluster).nodes, commandTimeoutMs: 5000 });
  await ready(redis);
  return new RedisStore(redis, { keyPrefix: prefix });
}

// The whole contract again on three masters: a script touching two slots would fail with CROSSSLOT.
describeCountersStore('redis cluster', async () => {
  const store = await clusterStore();
  return { store, dispose: () => store.close() };
});

describeInflightRecovery('redis cluster', async () => {
  const prefix = uniquePrefix();
  const replicas = await Promise.all([clusterStore(prefix), clusterStore(prefix), clusterStore(prefix)]);
  return { replicas, dispose: async () => void (await Promise.all(replicas.map((r) => r.close()))) };
});

describe('redis cluster store', () => {
  it('spreads different users over the slots and still admits exactly the limit per user', async () => {
    const prefix = uniquePrefix();
    const replicas = await Promise.all([clusterStore(prefix), clusterStore(prefix)]);
    try {
      const windows = [{ name: 'ai_per_minute', limit: 4, windowMs: 60_000 }];
      const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
      const decisions = await Promise.all(
        users.flatMap((user) =>
          Array.from({ length: 10 }, (_, i) =>
            (replicas[i % 2] as RedisStore).hit(user, windows).then((d) => ({ user, d })),
          ),
        ),
      );
      for (const user of users) {
        expect(
          decisions.filter((x) => x.user === user && x.d.allowed),
          user,
        ).toHaveLength(4);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });
});
