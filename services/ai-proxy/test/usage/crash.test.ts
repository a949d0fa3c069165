import { setTimeout as sleep } from 'node:timers/promises';
import type { UsageJson } from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, readUntil } from '@flashcase/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { billOf, usageTotalsJson } from '../helpers/bill';
import { API_KEY, REDIS_URL } from '../helpers/harness';
import { alternatingDialects, asUser, type Replica, replicaEnv, startReplica, stopReplicas } from '../helpers/replica';

const STALE_MS = 1500;
/** What the contract allows (AI_UPSTREAM_TIMEOUT_MS + 30 s) is far more; this is what we expect here. */
const RECOVERY_MS = STALE_MS + STALE_MS / 3 + 3000;

describe('ai-proxy replicas that die with calls in flight', () => {
  let prefix: string;
  let fake: FakeOpenAI;
  let replicas: Replica[] = [];

  beforeEach(async () => {
    prefix = `flashcase-test:crash:${process.pid}:${Math.random().toString(36).slice(2)}:`;
    // Every answer takes 250 ms: under load each replica always has calls in flight.
    // Both usage dialects, alternating call by call.
    fake = await startFakeOpenAI({ apiKey: API_KEY, latencyMs: 250, dialectOf: alternatingDialects() });
  });

  afterEach(async () => {
    await stopReplicas(replicas, 'SIGKILL');
    replicas = [];
    await fake.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  const start = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        startReplica(replicaEnv(prefix, fake.url, { AI_INFLIGHT_STALE_MS: String(STALE_MS) })),
      ),
    );

  /** `loops` callers per replica, each calling its replica again as soon as it answers, for `ms`. */
  async function load(targets: readonly Replica[], ms: number, loops = 6): Promise<void> {
    const until = Date.now() + ms;
    await Promise.all(
      targets.flatMap((replica, r) =>
        Array.from({ length: loops }, async (_, l) => {
          for (let i = 0; Date.now() < until; i++) {
            try {
              const res = await fetch(`${replica.base}/api/v1/ai/chat`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...asUser(`student-${r}-${l}`) },
                body: JSON.stringify({ messages: [{ role: 'user', content: `card ${r} ${l} ${i}` }], max_tokens: 64 }),
              });
              await res.arrayBuffer();
            } catch {
              return; // this replica is gone
            }
          }
        }),
      ),
    );
  }

  const usage = async (replica: Replica) =>
    (await (await fetch(`${replica.base}/api/v1/ai/usage`, { headers: asUser('admin', 'admin') })).json()) as UsageJson;
  const upstreamCalls = () => fake.requests.filter((r) => r.path === '/v1/chat/completions').length;

  it('counts every call the upstream served after a replica is SIGKILLed under load, once', async () => {
    replicas = await start(3);
    const [victim, survivor] = replicas as [Replica, Replica, Replica];
    const traffic = load(replicas, 2500);
    // killed once the upstream has calls of every replica under way (18 callers, 250 ms each)
    await sleep(600);
    await readUntil(
      async () => fake.requests.length - fake.answers.length,
      (pending) => pending >= 12,
      { timeoutMs: 5000, intervalMs: 5 },
    );
    victim.child.kill('SIGKILL');
    await traffic;
    await sleep(300); // the last answers' usage windows
    const served = upstreamCalls();
    const abandoned = fake.requests.filter((r) => r.abandoned).length;
    expect(abandoned).toBeGreaterThan(0); // the victim died with calls in flight

    const counted = await readUntil(
      () => usage(survivor),
      (u) => u.usage.total_requests >= served,
      { timeoutMs: RECOVERY_MS, intervalMs: 100 },
    );
    expect(counted.usage.total_requests).toBe(served);
    // the calls whose answers arrived are counted exactly; the victim's were estimated at their worst case
    const answered = billOf(fake.answers.filter((a) => a.usage !== undefined));
    expect(counted.usage.total_prompt_tokens).toBeGreaterThanOrEqual(answered.promptTokens);
    // a later sweep finds nothing more: nothing is counted twice
    await sleep(STALE_MS);
    expect((await usage(survivor)).usage.total_requests).toBe(served);
  }, 30_000);

  it("corrects the estimates with a frozen replica's late records: the counters equal the bill", async () => {
    replicas = await start(2);
    const [frozen, survivor] = replicas as [Replica, Replica];
    const traffic = load([frozen], 900, 8);
    await sleep(400);
    frozen.child.kill('SIGSTOP');
    // the survivor counts the frozen replica's calls in flight as orphans...
    const orphaned = await readUntil(
      () => usage(survivor),
      (u) => u.usage.total_requests >= upstreamCalls() && upstreamCalls() > 0,
      { timeoutMs: RECOVERY_MS, intervalMs: 100 },
    );
    // Every call the upstream saw; and a caller's call admitted but not yet sent when the replica
    // froze is in flight too (8 callers: at most 8 of those).
    expect(orphaned.usage.total_requests).toBeGreaterThanOrEqual(upstreamCalls());
    expect(orphaned.usage.total_requests).toBeLessThanOrEqual(upstreamCalls() + 8);
    // ...then the replica wakes, answers, and writes the real usage of the same calls
    frozen.child.kill('SIGCONT');
    await traffic;
    const bill = billOf(fake.answers);
    const settled = await readUntil(
      () => usage(survivor),
      (u) => u.usage.total_prompt_tokens === bill.promptTokens && u.usage.total_requests === bill.requests,
      { timeoutMs: RECOVERY_MS, intervalMs: 100 },
    );
    expect(settled.usage).toEqual(usageTotalsJson(bill));
    expect(settled.estimated_cost_usd).toBe(bill.costTicks / 1e10);
  }, 30_000);
});
