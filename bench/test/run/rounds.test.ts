import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemsOf } from '../../src/report/summary.ts';
import { createProcessGroup } from '../../src/run/process-group.ts';
import { roundOrder, runRounds, warmUp } from '../../src/run/rounds.ts';
import { parseTarget } from '../../src/targets/ids.ts';
import { type RunningTarget, startTargets, type TargetContext } from '../../src/targets/table.ts';

const require = createRequire(import.meta.url);
const processes = createProcessGroup({ logDir: mkdtempSync(join(tmpdir(), 'bench-rounds-test-')) });
let running: RunningTarget[];

beforeAll(async () => {
  // The real fake upstream and bare hop, started from the table as the bench starts them.
  const cli = require.resolve('@flashcase/fake-openai/cli');
  const upstream = await processes.start('upstream', [cli, '--port', '0', '--latency-ms', '0'], /LISTENING (\S+)/);
  const ctx: TargetContext = {
    processes,
    upstream: { child: upstream.child, url: upstream.value },
    settings: { redisUrl: '', keyPrefix: '', sinkUrl: '', internalToken: '', jwtSecret: '' },
    upstreamKey: 'sk-test',
    token: '',
    stack: () => Promise.reject(new Error('no c/d stack in this test')),
  };
  running = await startTargets(ctx, [parseTarget('a'), parseTarget('b')]);
}, 60_000);

afterAll(() => processes.stopAll());

describe('rounds', () => {
  it('rotates the order each round so no target always runs first', () => {
    expect([0, 1, 2, 3].map((r) => roundOrder(['a', 'b', 'c'], r).join(''))).toEqual(['abc', 'bca', 'cab', 'abc']);
  });

  it('starts each target from the table with the chain its request passes through', () => {
    expect(running.map((t) => [t.id, t.chain.map((c) => c.name)])).toEqual([
      ['a', ['upstream']],
      ['b', ['bare-hop', 'upstream']],
    ]);
    expect(running[1]?.endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions$/);
  });

  it('measures every target in every round: throughput, CPU per request of each hop, latency, streams', async () => {
    await warmUp(running, 4);
    const done: number[] = [];
    const plan = { rounds: 2, connections: 4, durationS: 1, latencyS: 0.5, streamS: 0.3 };
    const { results, rssByRound } = await runRounds(
      running,
      plan,
      () => processes.services(),
      (n) => done.push(n),
    );
    expect(done).toEqual([1, 2]);
    for (const id of ['a', 'b']) {
      const r = results[id];
      expect(r && problemsOf(r)).toEqual([]);
      expect(r?.throughput.map((x) => x.requests > 0)).toEqual([true, true]);
      expect(r?.latency).toHaveLength(2);
      expect(r?.stream.every((s) => s.ok > 0)).toBe(true);
    }
    expect(Object.keys(results.b?.cpuMsPerRequest ?? {})).toEqual(['bare-hop', 'upstream']);
    expect(results.b?.cpuMsPerRequest['bare-hop']?.every((ms) => ms > 0)).toBe(true);
    expect(rssByRound.upstream).toHaveLength(2);
  }, 60_000);
});
