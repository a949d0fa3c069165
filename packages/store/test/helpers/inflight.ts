import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { InflightCall, RedisStore, UsageRecord } from '../../src/index';

/** Stores on one key prefix, each its own writer (replica), and how to dispose of them. */
export interface ReplicaFixture {
  replicas: RedisStore[];
  dispose: () => Promise<void>;
}

const STALE_MS = 150;

function call(callId: string, userId = 'alice'): InflightCall {
  return {
    callId,
    userId,
    model: 'grok-4-fast',
    operation: 'chat',
    estimate: { promptTokens: 100, completionTokens: 500, costTicks: 2_700_000 },
  };
}

function usage(callId: string | undefined, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    userId: 'alice',
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 80,
    completionTokens: 60,
    reasoningTokens: 10,
    cachedPromptTokens: 5,
    costTicks: 437_500,
    billed: { billedTicks: 437_500, pricedTicks: 437_500 },
    callId,
    ...overrides,
  };
}

/**
 * In-flight calls and their recovery (`beginCall`, `recoverOrphanedCalls`) against replicas that
 * share one Redis (or Cluster) and key prefix.
 */
export function describeInflightRecovery(name: string, create: () => Promise<ReplicaFixture>): void {
  describe(`${name} in-flight calls`, () => {
    let fixture: ReplicaFixture | undefined;
    afterEach(async () => {
      await fixture?.dispose();
      fixture = undefined;
    });
    async function replicas(): Promise<[RedisStore, RedisStore, RedisStore]> {
      fixture = await create();
      return fixture.replicas as [RedisStore, RedisStore, RedisStore];
    }

    it("counts a dead replica's calls once, as their estimate, and its late record corrects them", async () => {
      const [dead, b, c] = await replicas();
      await dead.beginCall(call('served'));
      await dead.beginCall({ ...call('orphan'), requestId: 'req-7', traceId: 'a'.repeat(32) });
      await dead.recordUsage(usage('served'));
      // fresh heartbeat (the begin): not orphaned yet
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toEqual([]);
      await sleep(STALE_MS + 50);

      // two survivors sweep at once: the orphan is counted by exactly one of them
      const swept = (
        await Promise.all([
          b.recoverOrphanedCalls({ staleAfterMs: STALE_MS }),
          c.recoverOrphanedCalls({ staleAfterMs: STALE_MS }),
        ])
      ).flat();
      expect(swept.map((r) => r.callId)).toEqual(['orphan']);
      // with what its usage record needs: the request, its trace and the replica that began it
      expect(swept[0]).toMatchObject({
        userId: 'alice',
        model: 'grok-4-fast',
        estimate: call('orphan').estimate,
        requestId: 'req-7',
        traceId: 'a'.repeat(32),
        writerId: dead.writerId,
      });

      const afterSweep = await b.usage();
      expect(afterSweep.totals).toMatchObject({
        requests: 2,
        promptTokens: 80 + 100,
        completionTokens: 60 + 500,
        reasoningTokens: 10,
        costTicks: 437_500 + 2_700_000,
      });
      expect((await c.userUsage('alice')).totals.requests).toBe(2);
      expect(afterSweep.lastHour.requests).toBe(2);

      // the "dead" replica was only frozen: its late record replaces the estimate, no second request
      await dead.recordUsage(
        usage('orphan', {
          promptTokens: 90,
          completionTokens: 30,
          reasoningTokens: 0,
          costTicks: 33_000,
          billed: undefined,
        }),
      );
      const settled = await c.usage();
      expect(settled.totals).toMatchObject({
        requests: 2,
        promptTokens: 80 + 90,
        completionTokens: 60 + 30,
        totalTokens: 260,
        costTicks: 437_500 + 33_000,
      });
      expect(settled.lastHour).toEqual(settled.totals);
      expect((await b.userUsage('alice')).totals).toEqual(settled.totals);
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toEqual([]);
    });

    it("counts an orphan's estimate in its start's report periods, and the late record corrects it there", async () => {
      const [dead, b] = await replicas();
      const periods = { hour: 'h2026-12-01T23', day: 'd2026-12-01', month: 'm2026-12' };
      await dead.beginCall({ ...call('orphan', 'rita'), periods });
      await sleep(STALE_MS + 50);
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toHaveLength(1);
      expect(await b.periodUser(periods.day, 'rita')).toMatchObject({ costTicks: 2_700_000, requests: 1 });
      // the frozen replica's record arrives after midnight: it corrects the day the estimate went to
      const later = { hour: 'h2026-12-02T00', day: 'd2026-12-02', month: 'm2026-12' };
      await dead.recordUsage(usage('orphan', { userId: 'rita', costTicks: 33_000, billed: undefined, periods: later }));
      expect(await b.periodUser(periods.day, 'rita')).toMatchObject({ costTicks: 33_000, requests: 1 });
      expect((await b.periodUser(later.day, 'rita')).requests).toBe(0);
      expect((await b.periodUsers(periods.month, 'cost', 5)).map((u) => [u.userId, u.counters.costTicks])).toEqual([
        ['rita', 33_000],
      ]);
    });

    it("leaves a live replica's calls alone while it heartbeats, and drops cancelled calls", async () => {
      const [live, b] = await replicas();
      await live.beginCall(call('long-stream'));
      await live.beginCall(call('refused'));
      await live.cancelCall('refused');
      for (let i = 0; i < 4; i++) {
        await sleep(STALE_MS / 2);
        expect(await live.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toEqual([]);
        expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toEqual([]);
      }
      await live.recordUsage(usage('long-stream'));
      await sleep(STALE_MS + 50);
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS })).toEqual([]);
      expect((await b.usage()).totals.requests).toBe(1);
    });

    it('begins an admitted call with its rate-limit hit, and leaves no call behind a refused one', async () => {
      const [dead, b] = await replicas();
      const windows = [{ name: 'ai_per_minute', limit: 2, windowMs: 60_000 }];
      const decisions = [];
      for (const id of ['h1', 'h2', 'h3']) decisions.push(await dead.hit('alice', windows, call(id)));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
      // no window: the call is still begun
      expect((await dead.hit('alice', [], call('free'))).allowed).toBe(true);
      await sleep(STALE_MS + 50);
      const swept = await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS });
      expect(swept.map((r) => r.callId).sort()).toEqual(['free', 'h1', 'h2']);
    });

    it('counts a record whose call was never begun as a normal record', async () => {
      const [a] = await replicas();
      await a.recordUsage(usage('never-begun'));
      await a.recordUsage(usage(undefined));
      expect((await a.usage()).totals).toMatchObject({ requests: 2, promptTokens: 160 });
    });

    it('recovers at most `limit` calls a sweep, and the rest on the next', async () => {
      const [dead, b] = await replicas();
      for (let i = 0; i < 5; i++) await dead.beginCall(call(`c${i}`, `user-${i}`));
      await sleep(STALE_MS + 50);
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS, limit: 3 })).toHaveLength(3);
      expect(await b.recoverOrphanedCalls({ staleAfterMs: STALE_MS, limit: 3 })).toHaveLength(2);
      expect((await b.usage()).totals.requests).toBe(5);
      expect((await b.userUsage('user-4')).totals.requests).toBe(1);
    });
  });
}
