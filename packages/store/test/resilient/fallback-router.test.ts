import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore, type FailureMode, type RedisStore, StoreUnavailableError } from '../../src/index';
import { FallbackRouter } from '../../src/resilient/fallback-router';
import { HealthGate } from '../../src/resilient/health-gate';
import { ReplayBuffer } from '../../src/resilient/replay-buffer';
import { RedisServer } from '../helpers/redis';
import { connectStore, TEST_COMMAND_TIMEOUT_MS } from '../helpers/resilient';

const ONE_PER_MINUTE = [{ name: 'ai_per_minute', limit: 1, windowMs: 60_000 }];

describe('fallback router', () => {
  let server: RedisServer;
  let store: RedisStore;
  let fallback: EmbeddedStore;
  let gate: HealthGate;
  let buffer: ReplayBuffer;

  function route(mode: FailureMode): FallbackRouter {
    return new FallbackRouter(gate, buffer, mode);
  }

  // A Redis of its own per test (killed and paused here), removed with its data afterwards.
  beforeEach(async () => {
    server = await RedisServer.start();
    store = await connectStore(server.url);
    fallback = new EmbeddedStore();
    buffer = new ReplayBuffer(store, 100);
    gate = new HealthGate({
      commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS,
      pingIntervalMs: 60_000,
      ping: () => store.ping(),
      recover: async () => true,
    });
  });

  afterEach(async () => {
    await gate.close();
    await fallback.close();
    await store.close();
    await server.stop();
  });

  it('checks limits on Redis while healthy: the shared window counts across callers', async () => {
    const router = route('open');
    const hit = () =>
      router.limit(
        () => store.hit('alice', ONE_PER_MINUTE),
        () => fallback.hit('alice', ONE_PER_MINUTE),
      );
    expect((await hit()).allowed).toBe(true);
    // a second replica's store on the same Redis sees the hit
    expect((await store.hit('alice', ONE_PER_MINUTE)).allowed).toBe(false);
    expect((await fallback.hit('alice', ONE_PER_MINUTE)).allowed).toBe(true);
    expect(gate.isDegraded()).toBe(false);
  });

  it('open: falls back to the embedded store when Redis fails, and stays there while degraded', async () => {
    const router = route('open');
    await server.kill();
    const hit = () =>
      router.limit(
        () => store.hit('bob', ONE_PER_MINUTE),
        () => fallback.hit('bob', ONE_PER_MINUTE),
      );
    expect((await hit()).allowed).toBe(true);
    expect(gate.isDegraded()).toBe(true);
    let asked = false;
    const again = await router.limit(
      async () => {
        asked = true;
        return store.hit('bob', ONE_PER_MINUTE);
      },
      () => fallback.hit('bob', ONE_PER_MINUTE),
    );
    expect(asked).toBe(false);
    // the fallback's own window: the first fallback hit counted there
    expect(again.allowed).toBe(false);
  });

  it('closed: refuses with StoreUnavailableError carrying the cause, without asking the fallback', async () => {
    const router = route('closed');
    await server.kill();
    let fellBack = false;
    const refused = router.limit(
      () => store.hit('carol', ONE_PER_MINUTE),
      async () => {
        fellBack = true;
        return fallback.hit('carol', ONE_PER_MINUTE);
      },
    );
    await expect(refused).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(refused).rejects.toMatchObject({ cause: expect.any(Error) });
    expect(fellBack).toBe(false);
    expect(gate.isDegraded()).toBe(true);
  });

  it("throws a RangeError (the caller's mistake) as it is, staying healthy", async () => {
    const router = route('open');
    const bad = router.limit(
      () => store.reserveBudget('dave', 'r', -1, 100, 60_000),
      () => fallback.reserveBudget('dave', 'r', -1, 100, 60_000),
    );
    await expect(bad).rejects.toBeInstanceOf(RangeError);
    expect(gate.isDegraded()).toBe(false);
  });

  it('refuses reads while degraded, and a read Redis does not answer in time', async () => {
    const router = route('open');
    expect((await router.read(() => store.usage())).totals.requests).toBe(0);
    server.pause();
    const started = performance.now();
    await expect(router.read(() => store.usage())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(TEST_COMMAND_TIMEOUT_MS + 1000);
    expect(gate.isDegraded()).toBe(true);
    server.resume();
    await expect(router.read(() => store.usage())).rejects.toThrow(/degraded/);
  });

  it('writes increments to Redis while healthy, and into the replay buffer while degraded or failing', async () => {
    const router = route('open');
    const stats = (requests: number) => ({
      stream: 'stats' as const,
      seq: buffer.nextSeq('stats'),
      attempts: 0,
      kind: 'stats' as const,
      delta: { minuteMs: Date.now(), requests, status4xx: 0, status5xx: 0, latencyBuckets: [1] },
    });
    await router.write(stats(3));
    expect((await store.requestStats(300)).requests).toBe(3);
    expect(buffer.stats().buffered).toBe(0);
    await server.kill();
    await router.write(stats(4));
    expect(gate.isDegraded()).toBe(true);
    await router.write(stats(5));
    expect(buffer.stats().buffered).toBe(2);
  });

  it('answers a best-effort call with its fallback value while degraded or failing', async () => {
    const router = route('closed');
    const sweep = () =>
      router.bestEffort(
        () => store.recoverOrphanedCalls({ staleAfterMs: 60_000 }),
        () => [],
      );
    expect(await sweep()).toEqual([]);
    await server.kill();
    expect(await sweep()).toEqual([]);
    expect(gate.isDegraded()).toBe(true);
    expect(await sweep()).toEqual([]);
  });
});
