import { freePort } from '@flashcase/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisStore, type RequestStatsDelta } from '../../src/index';
import { whenReady } from '../../src/redis/client';
import { type BufferedWrite, ReplayBuffer, type ReplayTarget } from '../../src/resilient/replay-buffer';
import { deleteKeys, REDIS_URL } from '../helpers/redis';
import { connectStore, promptTokensOf, unbounded, usageRecord } from '../helpers/resilient';

/** The real store, with every call it receives noted in order. */
function recording(store: RedisStore): { target: ReplayTarget; calls: string[] } {
  const calls: string[] = [];
  const target: ReplayTarget = {
    writerId: store.writerId,
    applyUsageBatch: (entries, seqs) => {
      calls.push(`usage x${entries.length}`);
      return store.applyUsageBatch(entries, seqs);
    },
    addRequestStats: (delta, write) => {
      calls.push('stats');
      return store.addRequestStats(delta, write);
    },
    settleBudget: (key, reservationId, tokens, windowMs) => {
      calls.push('settle');
      return store.settleBudget(key, reservationId, tokens, windowMs);
    },
  };
  return { target, calls };
}

function usageWrite(buffer: ReplayBuffer, i: number): BufferedWrite {
  return {
    stream: 'usage',
    seq: buffer.nextSeq('usage'),
    attempts: 0,
    kind: 'usage',
    entry: { kind: 'usage', record: usageRecord(i) },
  };
}

function statsWrite(buffer: ReplayBuffer, requests: number): BufferedWrite {
  const delta: RequestStatsDelta = { minuteMs: Date.now(), requests, status4xx: 0, status5xx: 0, latencyBuckets: [1] };
  return { stream: 'stats', seq: buffer.nextSeq('stats'), attempts: 0, kind: 'stats', delta };
}

describe('replay buffer', () => {
  let store: RedisStore;
  let calls: string[];
  let buffer: ReplayBuffer;

  beforeEach(async () => {
    store = await connectStore();
    const recorded = recording(store);
    calls = recorded.calls;
    buffer = new ReplayBuffer(recorded.target, 1000);
  });

  afterEach(async () => {
    await deleteKeys(REDIS_URL, store.keys.prefix);
    await store.close();
  });

  it('numbers each stream on its own, from 1', () => {
    expect([
      buffer.nextSeq('usage'),
      buffer.nextSeq('usage'),
      buffer.nextSeq('stats'),
      buffer.nextSeq('usage'),
    ]).toEqual([1, 2, 1, 3]);
  });

  it('replays in sequence order, so a write that failed late is not skipped by the younger ones', async () => {
    const [w1, w2, w3] = [0, 1, 2].map((i) => usageWrite(buffer, i)) as [BufferedWrite, BufferedWrite, BufferedWrite];
    buffer.insert(w2);
    buffer.insert(w3);
    buffer.insert(w1);
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
    const usage = await store.usage();
    expect(usage.totals.requests).toBe(3);
    expect(usage.totals.promptTokens).toBe(promptTokensOf(0, 3));
    expect(buffer.stats()).toEqual({ buffered: 0, dropped: 0, replayed: 3 });
  });

  it('counts once a write whose reply was lost but that Redis applied', async () => {
    const writes = [0, 1, 2, 3].map((i) => usageWrite(buffer, i));
    // The first two reached Redis and were applied; their replies were lost, so they are buffered too.
    await buffer.apply(writes[0] as BufferedWrite);
    await buffer.apply(writes[1] as BufferedWrite);
    for (const write of writes) buffer.insert(write);
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
    const usage = await store.usage();
    expect(usage.totals.requests).toBe(4);
    expect(usage.totals.promptTokens).toBe(promptTokensOf(0, 4));
  });

  it('replays runs of usage in calls of at most 200 and other writes one by one, oldest first', async () => {
    for (let i = 0; i < 250; i++) buffer.insert(usageWrite(buffer, i));
    buffer.insert(statsWrite(buffer, 7));
    for (let i = 250; i < 450; i++) buffer.insert(usageWrite(buffer, i));
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
    expect(calls).toEqual(['usage x200', 'usage x50', 'stats', 'usage x200']);
    expect((await store.usage()).totals.requests).toBe(450);
    expect((await store.requestStats(300)).requests).toBe(7);
    expect(buffer.stats()).toEqual({ buffered: 0, dropped: 0, replayed: 451 });
  });

  it('does not replay while direct writes are in flight (one may still fail into the buffer)', async () => {
    buffer.insert(usageWrite(buffer, 0));
    buffer.startDirect(2);
    expect(await buffer.drain(unbounded, () => false)).toBe(false);
    buffer.settleDirect();
    expect(await buffer.drain(unbounded, () => false)).toBe(false);
    expect(calls).toEqual([]);
    buffer.settleDirect();
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
    expect(calls).toEqual(['usage x1']);
  });

  it('stops between calls when told to, keeping the rest in order', async () => {
    buffer.insert(statsWrite(buffer, 1));
    buffer.insert(statsWrite(buffer, 2));
    buffer.insert(statsWrite(buffer, 4));
    let asked = 0;
    expect(await buffer.drain(unbounded, () => asked++ >= 1)).toBe(false);
    expect(buffer.stats()).toMatchObject({ buffered: 2, replayed: 1 });
    expect((await store.requestStats(300)).requests).toBe(1);
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
    expect((await store.requestStats(300)).requests).toBe(7);
  });

  it('refuses writes past its capacity and counts them as dropped', async () => {
    const small = new ReplayBuffer(store, 3);
    for (let i = 0; i < 5; i++) small.insert(usageWrite(small, i));
    expect(small.stats()).toEqual({ buffered: 3, dropped: 2, replayed: 0 });
    expect(await small.drain(unbounded, () => false)).toBe(true);
    expect((await store.usage()).totals.promptTokens).toBe(promptTokensOf(0, 3));
  });

  it('drops a write Redis itself refuses five times', async () => {
    const raw = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 1000 });
    await whenReady(raw);
    // a budget log that is not a ZSET: the settle script fails with WRONGTYPE, a server error
    await raw.set(store.keys.budgetLog('broken'), 'not a zset');
    raw.disconnect();
    buffer.insert({
      stream: 'settle',
      seq: buffer.nextSeq('settle'),
      attempts: 0,
      kind: 'settle',
      key: 'broken',
      reservationId: 'r',
      tokens: 1,
      windowMs: 60_000,
    });
    for (let attempt = 1; attempt < 5; attempt++) {
      expect(await buffer.drain(unbounded, () => false)).toBe(false);
      expect(buffer.stats()).toMatchObject({ buffered: 1, dropped: 0 });
    }
    expect(await buffer.drain(unbounded, () => false)).toBe(false);
    expect(buffer.stats()).toEqual({ buffered: 0, dropped: 1, replayed: 0 });
    expect(await buffer.drain(unbounded, () => false)).toBe(true);
  });

  it('keeps a write lost to the connection however often it fails', async () => {
    const away = await connectStore(`redis://127.0.0.1:${await freePort()}`);
    const lonely = new ReplayBuffer(away, 10);
    lonely.insert(usageWrite(lonely, 0));
    for (let attempt = 0; attempt < 7; attempt++) expect(await lonely.drain(unbounded, () => false)).toBe(false);
    expect(lonely.stats()).toEqual({ buffered: 1, dropped: 0, replayed: 0 });
    await away.close();
  });
});
