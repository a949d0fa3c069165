import { describe, expect, it } from 'vitest';
import { createRedisClient, openAlertStateStore, RedisAlertStateStore } from '../../src/index';
import { deleteKeys, listKeys, REDIS_URL, uniquePrefix } from '../helpers/redis';
import { describeAlertStateStore } from './contract';

async function newStore(prefix: string): Promise<RedisAlertStateStore> {
  const handle = openAlertStateStore({ url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 5_000 });
  await handle.ready();
  return handle.store as RedisAlertStateStore;
}

describeAlertStateStore('redis', async () => {
  const prefix = uniquePrefix();
  // Two stores on two connections: what two alerting replicas are.
  const replicas: [RedisAlertStateStore, RedisAlertStateStore] = [await newStore(prefix), await newStore(prefix)];
  return {
    replicas,
    dispose: async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await deleteKeys(REDIS_URL, prefix);
    },
  };
});

describe('redis alert state store layout', () => {
  it('writes every key under the prefix with the {alerts} hash tag', async () => {
    const prefix = uniquePrefix();
    const store = await newStore(prefix);
    try {
      await store.acquireLease('evaluator', 'one', 5_000);
      await store.putDocument('alert', 'HighTokenUsage', { v: 1 });
      await store.putDocument('silence', 's-1', { v: 1 }, { ttlMs: 60_000 });
      const keys = await listKeys(REDIS_URL, prefix);
      expect(keys).toEqual([
        `${prefix}{alerts}:doc:alert:HighTokenUsage`,
        `${prefix}{alerts}:doc:silence:s-1`,
        `${prefix}{alerts}:index:alert`,
        `${prefix}{alerts}:index:silence`,
        `${prefix}{alerts}:lease:evaluator`,
      ]);
    } finally {
      await store.close();
      await deleteKeys(REDIS_URL, prefix);
    }
  });

  it('refuses a key prefix with braces', () => {
    const client = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 1_000 });
    expect(() => new RedisAlertStateStore(client, { keyPrefix: 'a{b}:' })).toThrow(RangeError);
    client.disconnect();
  });

  it('reports connected through openAlertStateStore once Redis answers', async () => {
    const prefix = uniquePrefix();
    const handle = openAlertStateStore({ url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 5_000 });
    await handle.ready();
    expect(handle.store.kind).toBe('redis');
    expect(handle.state()).toBe('connected');
    await handle.store.ping();
    await handle.store.close();
  });

  it('fails fast, and says disconnected, when Redis does not answer', async () => {
    const handle = openAlertStateStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', commandTimeoutMs: 200 });
    await handle.ready(300);
    expect(handle.state()).toBe('disconnected');
    await expect(handle.store.acquireLease('evaluator', 'one', 1_000)).rejects.toThrow();
    await handle.store.close();
  });
});
