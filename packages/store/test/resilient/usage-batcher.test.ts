import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { InflightCall, RedisStore } from '../../src/index';
import type { UsageEntry } from '../../src/redis/usage-batch';
import { HealthGate } from '../../src/resilient/health-gate';
import { ReplayBuffer } from '../../src/resilient/replay-buffer';
import { UsageBatcher, type UsageSink } from '../../src/resilient/usage-batcher';
import { deleteKeys, REDIS_URL, RedisServer } from '../helpers/redis';
import { connectStore, promptTokensOf, TEST_COMMAND_TIMEOUT_MS, usageRecord, waitFor } from '../helpers/resilient';

/** One script call the batcher made: the entries' kinds and the writer sequences sent. */
interface Call {
  kinds: UsageEntry['kind'][];
  seqs: readonly number[] | undefined;
  atMs: number;
}

/** A batcher on a real Redis store, with its gate and buffer, and the script calls it makes. */
async function rig(options: { flushDelayMs: number; maxBatch?: number }, url = REDIS_URL) {
  const store = await connectStore(url);
  const calls: Call[] = [];
  const sink: UsageSink = {
    applyUsageBatch: (entries, seqs) => {
      calls.push({ kinds: entries.map((e) => e.kind), seqs, atMs: performance.now() });
      return store.applyUsageBatch(entries, seqs);
    },
  };
  const buffer = new ReplayBuffer(store, 1000);
  const gate = new HealthGate({
    commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS,
    pingIntervalMs: 60_000,
    ping: () => store.ping(),
    recover: () =>
      buffer.drain(
        (call) => gate.bounded(call),
        () => false,
      ),
  });
  const batcher = new UsageBatcher(sink, gate, buffer, options);
  const record = (i: number) =>
    batcher.record({ kind: 'usage', record: usageRecord(i) }, { kind: 'usage', record: usageRecord(i) });
  return { store, calls, buffer, gate, batcher, record };
}

function call(callId: string): InflightCall {
  return {
    callId,
    userId: 'u',
    model: 'grok-4-fast',
    operation: 'chat',
    estimate: { promptTokens: 1, completionTokens: 1, costTicks: 1 },
  };
}

describe('usage batcher', () => {
  const cleanup: (() => Promise<void>)[] = [];

  async function track<T extends { store: RedisStore; gate: HealthGate }>(parts: T): Promise<T> {
    cleanup.push(async () => {
      await parts.gate.close();
      await deleteKeys(REDIS_URL, parts.store.keys.prefix).catch(() => undefined);
      await parts.store.close();
    });
    return parts;
  }

  afterEach(async () => {
    for (const done of cleanup.splice(0)) await done();
  });

  it('holds the records of one flush window for the delay, then sends them in one script call', async () => {
    const { store, calls, record } = await track(await rig({ flushDelayMs: 150 }));
    const started = performance.now();
    const writes = [record(0), record(1), record(2)];
    await sleep(50);
    expect(calls).toEqual([]);
    expect((await store.usage()).totals.requests).toBe(0);
    await Promise.all(writes);
    expect(calls.map((c) => c.kinds.length)).toEqual([3]);
    expect((calls[0]?.atMs ?? 0) - started).toBeGreaterThanOrEqual(140);
    expect((await store.usage()).totals.promptTokens).toBe(promptTokensOf(0, 3));
  });

  it('sends at the end of each event-loop turn with a delay of 0', async () => {
    const { calls, record } = await track(await rig({ flushDelayMs: 0 }));
    const writes = [record(0)];
    await new Promise((resolve) => setImmediate(resolve));
    writes.push(record(1));
    await new Promise((resolve) => setImmediate(resolve));
    writes.push(record(2));
    await Promise.all(writes);
    expect(calls.map((c) => c.kinds.length)).toEqual([1, 1, 1]);
  });

  it('splits a flush larger than maxBatch into calls of at most maxBatch, in sequence order', async () => {
    const { store, calls, record } = await track(await rig({ flushDelayMs: 20, maxBatch: 2 }));
    await Promise.all([0, 1, 2, 3, 4].map(record));
    expect(calls.map((c) => c.seqs)).toEqual([[1, 2], [3, 4], [5]]);
    expect((await store.usage()).totals.promptTokens).toBe(promptTokensOf(0, 5));
  });

  it('sends what waits at once when asked (written), without waiting for the timer', async () => {
    // a delay longer than the test's own timeout: waiting for it would fail the test
    const { store, batcher, record } = await track(await rig({ flushDelayMs: 600_000 }));
    void record(0);
    void record(1);
    await batcher.written();
    expect((await store.usage()).totals.requests).toBe(2);
  });

  it('sends begins and cancels at the end of the turn in their own call, without a sequence, while usage waits', async () => {
    const { calls, batcher, record } = await track(await rig({ flushDelayMs: 600_000 }));
    void record(0);
    const started = performance.now();
    await Promise.all([
      batcher.inflight({ kind: 'begin', call: call('a') }),
      batcher.inflight({ kind: 'cancel', callId: 'b' }),
    ]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(calls).toEqual([{ kinds: ['begin', 'cancel'], seqs: [0, 0], atMs: expect.any(Number) }]);
    await batcher.written();
    expect(calls[1]?.kinds).toEqual(['usage']);
  });

  it('buffers at once while the gate is degraded, sending nothing', async () => {
    const { calls, buffer, gate, record, batcher } = await track(await rig({ flushDelayMs: 10 }));
    gate.fail(new Error('connection lost'));
    await record(0);
    await batcher.inflight({ kind: 'begin', call: call('a') });
    expect(calls).toEqual([]);
    expect(buffer.stats().buffered).toBe(2);
  });

  it('degrades the gate and buffers the records of a failed call, which the replay writes once Redis is back', async () => {
    const server = await RedisServer.start();
    cleanup.push(() => server.stop());
    const { store, buffer, gate, record } = await track(await rig({ flushDelayMs: 10 }, server.url));
    await record(0);
    await server.kill();
    await Promise.all([record(1), record(2)]);
    expect(gate.isDegraded()).toBe(true);
    expect(buffer.stats().buffered).toBe(2);
    await server.restart();
    await waitFor(() => {
      void gate.check();
      return !gate.isDegraded();
    });
    expect((await store.usage()).totals.promptTokens).toBe(promptTokensOf(0, 3));
  });
});
