import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRedisClient,
  emptyCounters,
  type FailureMode,
  RedisStore,
  ResilientStore,
  type ResilientStoreOptions,
  StoreUnavailableError,
  type UsageCounters,
  type UsageRecord,
} from '../../src/index';
import { RedisServer, uniquePrefix } from '../helpers/redis';

const COMMAND_TIMEOUT_MS = 300;
/** A hang check, not a benchmark: any call slower than this waited on a dead Redis. */
const PROMPT_MS = 2000;

async function ready(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise((resolve) => redis.once('ready', resolve));
}

async function timed<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    const value = await call();
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Usage records with varied counts, and their exact sums. */
class Ledger {
  readonly expected = emptyCounters();
  private n = 0;

  next(): UsageRecord {
    const i = this.n++;
    const record: UsageRecord = {
      userId: `user-${i % 3}`,
      model: 'grok-4-fast',
      operation: i % 2 ? 'chat' : 'rewrite',
      promptTokens: 1 + (i % 97),
      completionTokens: (i * 31) % 113,
      costTicks: 1 + ((i * 7) % 1009),
      error: i % 11 === 0,
    };
    const e: UsageCounters = this.expected;
    e.promptTokens += record.promptTokens;
    e.completionTokens += record.completionTokens;
    e.totalTokens += record.promptTokens + record.completionTokens;
    e.requests += 1;
    e.errors += record.error ? 1 : 0;
    e.costTicks += record.costTicks;
    return record;
  }
}

describe('resilient store', () => {
  let server: RedisServer;
  let store: ResilientStore;
  let redisStore: RedisStore;
  let prefix: string;
  let states: boolean[];

  async function open(failureMode: FailureMode, options: ResilientStoreOptions = {}): Promise<ResilientStore> {
    const redis = createRedisClient({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    await ready(redis);
    prefix = uniquePrefix();
    redisStore = new RedisStore(redis, { keyPrefix: prefix });
    store = new ResilientStore(redisStore, {
      failureMode,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      pingIntervalMs: 100,
      ...options,
    });
    states = [];
    store.onStateChange((degraded) => states.push(degraded));
    return store;
  }

  beforeEach(async () => {
    server = await RedisServer.start();
  });

  afterEach(async () => {
    await store?.close();
    await server.stop();
  });

  it('fails open while Redis is killed mid-traffic, then writes every buffered increment exactly once', async () => {
    await open('open');
    const ledger = new Ledger();
    await Promise.all(Array.from({ length: 100 }, () => store.recordUsage(ledger.next())));

    // 20 writers record usage back to back; Redis dies under them.
    let writing = true;
    let slowest = 0;
    const writers = Array.from({ length: 20 }, async () => {
      while (writing) {
        const call = await timed(() => store.recordUsage(ledger.next()));
        expect(call.error).toBeUndefined();
        slowest = Math.max(slowest, call.ms);
        // A buffered write resolves without I/O: yield so timers (and the kill) get to run.
        await sleep(1);
      }
    });
    await sleep(100);
    await server.kill();
    await sleep(400);
    writing = false;
    await Promise.all(writers);
    expect(slowest).toBeLessThan(PROMPT_MS);
    expect(store.isDegraded()).toBe(true);
    expect(states).toEqual([true]);
    expect(store.bufferStats().buffered).toBeGreaterThan(0);

    // Limits hold on this replica meanwhile.
    const windows = [{ name: 'ai_per_minute', limit: 3, windowMs: 60_000 }];
    const hits = await Promise.all(Array.from({ length: 10 }, () => timed(() => store.hit('alice', windows))));
    expect(hits.filter((h) => h.value?.allowed)).toHaveLength(3);
    expect(hits.find((h) => h.value && !h.value.allowed)?.value?.limitName).toBe('ai_per_minute');
    expect(Math.max(...hits.map((h) => h.ms))).toBeLessThan(PROMPT_MS);
    expect(await store.reserveBudget('alice', 'r1', 500, 1000, 3_600_000)).toMatchObject({ allowed: true });
    expect(await store.reserveBudget('alice', 'r2', 501, 1000, 3_600_000)).toMatchObject({ allowed: false });

    // Reads need the shared counters: refused, promptly.
    const reads: (() => Promise<unknown>)[] = [
      () => store.usage(),
      () => store.userUsage('user-1'),
      () => store.lastHourTokens(),
      () => store.timeseries(3_600_000, 60_000),
      () => store.requestStats(300),
    ];
    for (const read of reads) {
      const call = await timed(read);
      expect(call.error).toBeInstanceOf(StoreUnavailableError);
      expect(call.ms).toBeLessThan(PROMPT_MS);
    }
    await store.addRequestStats({
      minuteMs: Date.now(),
      requests: 7,
      status4xx: 1,
      status5xx: 2,
      latencyBuckets: [3, 4],
    });
    for (let i = 0; i < 50; i++) await store.recordUsage(ledger.next());

    await server.restart();
    await waitFor(() => !store.isDegraded());
    expect(states).toEqual([true, false]);
    expect(store.bufferStats()).toMatchObject({ buffered: 0, dropped: 0 });
    expect(store.bufferStats().replayed).toBeGreaterThan(50);

    const usage = await store.usage();
    expect(usage.totals).toEqual(ledger.expected);
    expect(usage.lastHour).toEqual(ledger.expected);
    expect(await store.requestStats(300)).toMatchObject({ requests: 7, status4xx: 1, status5xx: 2 });
  });

  it('counts nothing twice when a hung Redis executes the writes that timed out', async () => {
    await open('open');
    const ledger = new Ledger();
    await store.recordUsage(ledger.next());

    server.pause();
    // Sent while Redis hangs: each times out (and is buffered), yet Redis runs them when it wakes.
    const calls = await Promise.all(Array.from({ length: 50 }, () => timed(() => store.recordUsage(ledger.next()))));
    expect(calls.every((c) => c.error === undefined)).toBe(true);
    expect(Math.max(...calls.map((c) => c.ms))).toBeLessThan(PROMPT_MS);
    expect(store.isDegraded()).toBe(true);
    const hit = await timed(() => store.hit('bob', [{ name: 'ai_per_minute', limit: 1, windowMs: 60_000 }]));
    expect(hit.value?.allowed).toBe(true);
    expect(hit.ms).toBeLessThan(PROMPT_MS);
    for (let i = 0; i < 10; i++) await store.recordUsage(ledger.next());

    server.resume();
    await waitFor(() => !store.isDegraded());
    const usage = await store.usage();
    expect(usage.totals).toEqual(ledger.expected);
    expect(usage.totals.requests).toBe(61);
  });

  it('refuses limit checks while degraded in closed mode, but still keeps the usage', async () => {
    await open('closed');
    const windows = [{ name: 'ai_per_minute', limit: 5, windowMs: 60_000 }];
    expect((await store.hit('carol', windows)).allowed).toBe(true);
    await server.kill();

    const hit = await timed(() => store.hit('carol', windows));
    expect(hit.error).toBeInstanceOf(StoreUnavailableError);
    expect(hit.ms).toBeLessThan(PROMPT_MS);
    expect(store.isDegraded()).toBe(true);
    const again = await timed(() => store.hit('carol', windows));
    expect(again.error).toBeInstanceOf(StoreUnavailableError);
    const budget = await timed(() => store.reserveBudget('carol', 'r', 10, 100, 60_000));
    expect(budget.error).toBeInstanceOf(StoreUnavailableError);

    const ledger = new Ledger();
    for (let i = 0; i < 5; i++) await store.recordUsage(ledger.next());

    await server.restart();
    await waitFor(() => !store.isDegraded());
    expect((await store.hit('carol', windows)).remaining).toBe(3);
    expect((await store.usage()).totals).toEqual(ledger.expected);
  });

  it('bounds the buffer and counts what it had to drop', async () => {
    await open('open', { maxBufferedWrites: 10 });
    await server.kill();
    const ledger = new Ledger();
    const kept = new Ledger();
    for (let i = 0; i < 25; i++) {
      const record = ledger.next();
      if (i < 10) kept.next();
      await store.recordUsage(record);
    }
    expect(store.bufferStats()).toMatchObject({ buffered: 10, dropped: 15 });

    await server.restart();
    await waitFor(() => !store.isDegraded());
    expect((await store.usage()).totals).toEqual(kept.expected);
  });

  it('notices an outage from the background ping alone, and recovers', async () => {
    await open('open');
    await server.kill();
    await waitFor(() => store.isDegraded(), 3000);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await server.restart();
    await waitFor(() => !store.isDegraded());
    await store.ping();
    expect(states).toEqual([true, false]);
  });

  /** The number of records in each usage script call the store makes from now on. */
  function countUsageCalls(): number[] {
    const sizes: number[] = [];
    const send = redisStore.applyUsageBatch.bind(redisStore);
    redisStore.applyUsageBatch = (entries, seqs) => {
      sizes.push(entries.length);
      return send(entries, seqs);
    };
    return sizes;
  }

  /** Three records made in three event-loop turns, all awaited. */
  async function threeTurns(ledger: Ledger): Promise<void> {
    const writes = [store.recordUsage(ledger.next())];
    await new Promise((resolve) => setImmediate(resolve));
    writes.push(store.recordUsage(ledger.next()));
    await new Promise((resolve) => setImmediate(resolve));
    writes.push(store.recordUsage(ledger.next()));
    await Promise.all(writes);
  }

  it('sends the usage records of one flush window in one script call, exactly', async () => {
    await open('open', { usageFlushDelayMs: 50 });
    const calls = countUsageCalls();
    const ledger = new Ledger();
    await threeTurns(ledger);
    expect(calls).toEqual([3]);
    expect((await store.usage()).totals).toEqual(ledger.expected);
  });

  it('sends them at the end of each turn with usageFlushDelayMs 0', async () => {
    await open('open', { usageFlushDelayMs: 0 });
    const calls = countUsageCalls();
    const ledger = new Ledger();
    await threeTurns(ledger);
    expect(calls).toEqual([1, 1, 1]);
    expect((await store.usage()).totals).toEqual(ledger.expected);
  });

  it('does not make a read or close() wait for the flush timer: they send what waits at once', async () => {
    // a timer longer than the test's own timeout: waiting for it would fail the test
    await open('open', { usageFlushDelayMs: 600_000 });
    const ledger = new Ledger();
    void store.recordUsage(ledger.next());
    void store.recordUsage(ledger.next());
    expect((await store.usage()).totals).toEqual(ledger.expected);
    void store.recordUsage(ledger.next());
    await store.close();
    const reader = createRedisClient({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    await ready(reader);
    const after = new RedisStore(reader, { keyPrefix: prefix });
    expect((await after.usage()).totals).toEqual(ledger.expected);
    await after.close();
  });

  it('writes in-flight calls within the turn, clears them with their usage, and keeps both through an outage', async () => {
    // a begin does not wait for the flush delay (the usage record does)
    await open('open', { usageFlushDelayMs: 1000 });
    const other = new RedisStore(createRedisClient({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS }), {
      keyPrefix: prefix,
    });
    await ready((other as unknown as { client: Redis }).client);
    const call = (callId: string) => ({
      callId,
      userId: 'u',
      model: 'grok-4-fast',
      operation: 'chat',
      estimate: { promptTokens: 10, completionTokens: 100, costTicks: 5000 },
    });
    const usage = (callId: string): UsageRecord => ({
      userId: 'u',
      model: 'grok-4-fast',
      operation: 'chat',
      promptTokens: 7,
      completionTokens: 3,
      costTicks: 40,
      callId,
    });
    const began = await timed(() => store.beginCall(call('live')));
    expect(began.ms).toBeLessThan(500);
    await store.recordUsage(usage('live'));

    // Redis dies: the begin and the usage of a call are buffered, and replayed in order once it is back
    await server.kill();
    await waitFor(() => store.isDegraded(), 3000);
    await store.beginCall(call('through-outage'));
    await store.recordUsage(usage('through-outage'));
    await store.beginCall(call('unfinished'));
    await server.restart();
    await waitFor(() => !store.isDegraded());
    await sleep(250);
    // the unfinished call is the only one a survivor would count, once this replica stops heartbeating
    const recovered = await other.recoverOrphanedCalls({ staleAfterMs: 200 });
    expect(recovered.map((r) => r.callId)).toEqual(['unfinished']);
    expect((await store.usage()).totals).toMatchObject({
      requests: 3,
      promptTokens: 7 + 7 + 10,
      costTicks: 40 + 40 + 5000,
    });
    await other.close();
  });

  it('refuses a usageFlushDelayMs that is not a whole number of ms >= 0', async () => {
    const redis = createRedisClient({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    await ready(redis);
    const direct = new RedisStore(redis, { keyPrefix: uniquePrefix() });
    expect(() => new ResilientStore(direct, { usageFlushDelayMs: -1 })).toThrow(RangeError);
    expect(() => new ResilientStore(direct, { usageFlushDelayMs: Number.NaN })).toThrow(RangeError);
    await direct.close();
  });
});
