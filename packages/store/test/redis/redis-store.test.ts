import type { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient, RedisStore } from '../../src/index';
import { describeCountersStore } from '../helpers/contract';
import { describeInflightRecovery } from '../helpers/inflight';
import { deleteKeys, listKeys, REDIS_URL, RedisServer, uniquePrefix } from '../helpers/redis';

function client(): Redis | Cluster {
  return createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 });
}

async function ready(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise((resolve) => redis.once('ready', resolve));
}

async function newStore(prefix: string): Promise<RedisStore> {
  const redis = client();
  await ready(redis);
  return new RedisStore(redis, { keyPrefix: prefix });
}

describeCountersStore('redis', async () => {
  const prefix = uniquePrefix();
  const store = await newStore(prefix);
  return {
    store,
    dispose: async () => {
      await store.close();
      await deleteKeys(REDIS_URL, prefix);
    },
  };
});

describeInflightRecovery('redis', async () => {
  const prefix = uniquePrefix();
  const replicas = await Promise.all([newStore(prefix), newStore(prefix), newStore(prefix)]);
  return {
    replicas,
    dispose: async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await deleteKeys(REDIS_URL, prefix);
    },
  };
});

describe('redis in-flight calls with the rate-limit hit', () => {
  it('writes the call in the hit script itself on standalone Redis: no second script', async () => {
    const prefix = uniquePrefix();
    const store = await newStore(prefix);
    try {
      let batches = 0;
      const send = store.applyUsageBatch.bind(store);
      store.applyUsageBatch = (entries, seqs) => {
        batches++;
        return send(entries, seqs);
      };
      expect(store.beginsWithHit).toBe(true);
      const begin = {
        callId: 'one-step',
        userId: 'u',
        model: 'm',
        operation: 'chat',
        estimate: { promptTokens: 1, completionTokens: 2, costTicks: 3 },
      };
      expect((await store.hit('u', [{ name: 'ai_per_minute', limit: 5, windowMs: 60_000 }], begin)).allowed).toBe(true);
      expect(batches).toBe(0);
      const raw = client() as Redis;
      await ready(raw);
      expect(await raw.hget(`${prefix}{usage}:inflight:${store.writerId}`, 'one-step')).toContain('"ct":3');
      raw.disconnect();
    } finally {
      await store.close();
      await deleteKeys(REDIS_URL, prefix);
    }
  });
});

describe('redis client', () => {
  it('sends the commands of one event-loop turn in one pipeline, each still answered on its own', async () => {
    const prefix = uniquePrefix();
    const redis = client() as Redis;
    await ready(redis);
    const store = new RedisStore(redis, { keyPrefix: prefix });
    try {
      const windows = [{ name: 'ai_per_minute', limit: 30, windowMs: 60_000 }];
      const pending = Array.from({ length: 40 }, (_, i) => store.hit(`user-${i % 4}`, windows));
      // queued for one write at the end of this turn, not written one by one
      expect(redis.autoPipelineQueueSize).toBeGreaterThan(0);
      const decisions = await Promise.all(pending);
      expect(decisions.every((d) => d.allowed)).toBe(true);
      expect(decisions.filter((_, i) => i % 4 === 0).map((d) => d.remaining)).toEqual([
        29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
      ]);
    } finally {
      await store.close();
      await deleteKeys(REDIS_URL, prefix);
    }
  });
});

describe('redis store across replicas', () => {
  let prefix: string;
  let replicas: RedisStore[];

  beforeEach(async () => {
    prefix = uniquePrefix();
    // Three stores on three connections: what three service replicas are.
    replicas = await Promise.all([newStore(prefix), newStore(prefix), newStore(prefix)]);
  });

  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await deleteKeys(REDIS_URL, prefix);
  });

  it('admits exactly the limit when three replicas hammer one user at once', async () => {
    const windows = [
      { name: 'ai_per_minute', limit: 25, windowMs: 60_000 },
      { name: 'ai_per_hour', limit: 50, windowMs: 3_600_000 },
    ];
    const decisions = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (replicas[i % 3] as RedisStore).hit('shared-user', windows)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.limitName === 'ai_per_minute')).toBe(true);
  });

  it('never overshoots one user budget from three replicas', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        (replicas[i % 3] as RedisStore).reserveBudget('shared-user', `res-${i}`, 100, 2_500, 3_600_000),
      ),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
  });

  it('sums usage from three replicas exactly, in integer hash fields only', async () => {
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        (replicas[i % 3] as RedisStore).recordUsage({
          userId: `user-${i % 4}`,
          model: 'grok-4-fast',
          operation: 'chat',
          promptTokens: i,
          completionTokens: 2 * i,
          reasoningTokens: i,
          cachedPromptTokens: i % 2,
          costTicks: 3 * i + 1,
        }),
      ),
    );
    const usage = await (replicas[0] as RedisStore).usage();
    const n = 300;
    const sumI = (n * (n - 1)) / 2;
    expect(usage.totals).toEqual({
      promptTokens: sumI,
      completionTokens: 2 * sumI,
      totalTokens: 3 * sumI,
      reasoningTokens: sumI,
      cachedPromptTokens: n / 2,
      requests: n,
      errors: 0,
      costTicks: 3 * sumI + n,
    });

    const raw = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 });
    await ready(raw);
    try {
      const hash = await (raw as Redis).hgetall(`${prefix}{usage}:total`);
      for (const [field, value] of Object.entries(hash)) expect(value, field).toMatch(/^\d+$/);
    } finally {
      raw.disconnect();
    }
  });
});

describe('redis key layout', () => {
  let prefix: string;
  let store: RedisStore;

  beforeEach(async () => {
    prefix = uniquePrefix();
    store = await newStore(prefix);
  });

  afterEach(async () => {
    await store.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('starts every key with the prefix and hash-tags it by user, usage or request stats', async () => {
    await store.hit('alice', [
      { name: 'ai_per_minute', limit: 5, windowMs: 60_000 },
      { name: 'ai_per_hour', limit: 50, windowMs: 3_600_000 },
    ]);
    await store.reserveBudget('alice', 'r1', 10, 100, 3_600_000);
    await store.recordUsage({
      userId: 'alice',
      model: 'grok-4-fast',
      operation: 'chat',
      promptTokens: 1,
      completionTokens: 1,
      costTicks: 1,
    });
    await store.addRequestStats({
      minuteMs: Date.now(),
      requests: 1,
      status4xx: 0,
      status5xx: 0,
      latencyBuckets: [1],
    });
    const keys = await listKeys(REDIS_URL, prefix);
    const minute = '\\d+';
    const expected = [
      `\\{u:alice\\}:rl:ai_per_minute:60000`,
      `\\{u:alice\\}:rl:ai_per_hour:3600000`,
      `\\{u:alice\\}:budget:log`,
      `\\{u:alice\\}:budget:tokens`,
      `\\{usage\\}:total`,
      `\\{usage\\}:user:alice`,
      `\\{usage\\}:m:${minute}`,
      `\\{usage\\}:um:alice:${minute}`,
      `\\{reqstats\\}:m:${minute}`,
    ];
    expect(keys).toHaveLength(expected.length);
    for (const pattern of expected) {
      expect(
        keys.some((k) => new RegExp(`^${prefix}${pattern}$`).test(k)),
        pattern,
      ).toBe(true);
    }
  });

  it('gives minute buckets a TTL of about 25 h (cluster-wide) and 2 h (per user)', async () => {
    await store.recordUsage({
      userId: 'bob',
      model: 'm',
      operation: 'chat',
      promptTokens: 1,
      completionTokens: 0,
      costTicks: 0,
    });
    const raw = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 }) as Redis;
    await ready(raw);
    try {
      const keys = await listKeys(REDIS_URL, prefix);
      const globalKey = keys.find((k) => k.includes('{usage}:m:')) as string;
      const userKey = keys.find((k) => k.includes('{usage}:um:bob:')) as string;
      const hour = 3_600_000;
      expect(await raw.pttl(globalKey)).toBeGreaterThan(24 * hour);
      expect(await raw.pttl(globalKey)).toBeLessThanOrEqual(25 * hour);
      expect(await raw.pttl(userKey)).toBeGreaterThan(hour);
      expect(await raw.pttl(userKey)).toBeLessThanOrEqual(2 * hour);
      expect(await raw.pttl(`${prefix}{usage}:total`)).toBe(-1);
    } finally {
      raw.disconnect();
    }
  });

  it('refuses a key prefix with braces (they would break the hash tags)', () => {
    const redis = client();
    try {
      expect(() => new RedisStore(redis, { keyPrefix: 'bad{prefix}:' })).toThrow(RangeError);
    } finally {
      redis.disconnect();
    }
  });
});

describe('redis scripts', () => {
  // A server of our own: SCRIPT FLUSH on the shared one would disturb other suites.
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('still answer after the server forgets them (EVALSHA falls back to EVAL)', async () => {
    const redis = createRedisClient({ url: server.url, commandTimeoutMs: 5000 });
    await ready(redis);
    const store = new RedisStore(redis, { keyPrefix: uniquePrefix() });
    try {
      const windows = [{ name: 'ai_per_minute', limit: 5, windowMs: 60_000 }];
      expect((await store.hit('carol', windows)).remaining).toBe(4);
      await (redis as Redis).script('FLUSH');
      expect((await store.hit('carol', windows)).remaining).toBe(3);
    } finally {
      await store.close();
    }
  });
});

describe('redis report periods', () => {
  it('give every key of a period an expiry with its first call, and no key to a user', async () => {
    const prefix = uniquePrefix();
    const store = await newStore(prefix);
    const redis = client();
    try {
      const periods = { hour: 'h2026-12-01T09', day: 'd2026-12-01', month: 'm2026-12' };
      for (const userId of ['a', 'b', 'a'])
        await store.recordUsage({
          userId,
          model: 'm',
          operation: 'chat',
          promptTokens: 1,
          completionTokens: 1,
          costTicks: 5,
          periods,
        });
      const keys = (await listKeys(REDIS_URL, prefix)).filter((k) => /:(pu|pt|rk):/.test(k)).sort();
      expect(keys.map((k) => k.slice(prefix.length))).toEqual([
        '{usage}:pt:d2026-12-01',
        '{usage}:pt:m2026-12',
        '{usage}:pu:d2026-12-01',
        '{usage}:pu:h2026-12-01T09',
        '{usage}:pu:m2026-12',
        '{usage}:rk:ct:d2026-12-01',
        '{usage}:rk:ct:h2026-12-01T09',
        '{usage}:rk:ct:m2026-12',
        '{usage}:rk:tk:d2026-12-01',
        '{usage}:rk:tk:h2026-12-01T09',
        '{usage}:rk:tk:m2026-12',
      ]);
      const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
      const day = 86_400_000;
      keys.forEach((key, i) => {
        const ttl = ttls[i] ?? -1;
        const expected = key.includes(':h2026') ? 2 * day : key.includes(':d2026') ? 40 * day : 400 * day;
        expect(ttl, key).toBeGreaterThan(expected - 60_000);
        expect(ttl, key).toBeLessThanOrEqual(expected);
      });
    } finally {
      redis.disconnect();
      await store.close();
      await deleteKeys(REDIS_URL, prefix);
    }
  });
});
