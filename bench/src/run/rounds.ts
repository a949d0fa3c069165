/**
 * The measurement: a warm-up per target, then interleaved rounds of [throughput at N connections,
 * latency at one, streaming at one] per target, the order rotated each round so that machine drift
 * and a neighbour's warm caches hit every target alike. CPU per request is each process's CPU time
 * (from /proc) over the throughput run, divided by the requests it answered.
 */
import { type RunStats, runJson, runStream, type StreamStats } from '../load.ts';
import { type Child, cpuMs, memoryMb } from '../processes.ts';
import type { RunningTarget } from '../targets/table.ts';

/** Every round of one target. */
export interface TargetResult {
  throughput: RunStats[];
  latency: RunStats[];
  stream: StreamStats[];
  /** CPU ms per request of each process of the chain, one value per round. */
  cpuMsPerRequest: Record<string, number[]>;
}

export interface RoundsPlan {
  rounds: number;
  connections: number;
  durationS: number;
  latencyS: number;
  streamS: number;
}

export interface RoundsOutcome {
  results: Record<string, TargetResult>;
  /** RSS (MB) of each service after each round. */
  rssByRound: Record<string, number[]>;
}

/** Rounds MB to 0.1. */
export function tenth(mb: number): number {
  return Math.round(mb * 10) / 10;
}

/** Throughput of one target, with the CPU each process of its chain spent per answered request. */
export async function measureThroughput(
  target: RunningTarget,
  connections: number,
  durationS: number,
): Promise<{ run: RunStats; cpu: Record<string, number> }> {
  const before = target.chain.map((c) => cpuMs(c.pid));
  const run = await runJson(target.endpoint, connections, durationS);
  const cpu: Record<string, number> = {};
  target.chain.forEach((c, i) => {
    cpu[c.name] = run.requests > 0 ? (cpuMs(c.pid) - (before[i] as number)) / run.requests : Number.NaN;
  });
  return { run, cpu };
}

/** Warm-up: JIT, pools and connections, once per target; failures here show up in the rounds too. */
export async function warmUp(targets: readonly RunningTarget[], connections: number): Promise<void> {
  for (const target of targets) {
    await runJson(target.endpoint, connections, 1);
    await runStream(target.endpoint, 0.3);
  }
}

/** The target order of round `round`: rotated, so no target always runs first or after the same one. */
export function roundOrder<T>(targets: readonly T[], round: number): T[] {
  return targets.map((_, i) => targets[(i + round) % targets.length] as T);
}

/** Runs the rounds; `services` are sampled for RSS after each, `onRound` hears of each one done. */
export async function runRounds(
  targets: readonly RunningTarget[],
  plan: RoundsPlan,
  services: () => Child[],
  onRound: (done: number) => void = () => {},
): Promise<RoundsOutcome> {
  const results: Record<string, TargetResult> = {};
  for (const t of targets) results[t.id] = { throughput: [], latency: [], stream: [], cpuMsPerRequest: {} };
  const rssByRound: Record<string, number[]> = {};
  for (let round = 0; round < plan.rounds; round++) {
    for (const target of roundOrder(targets, round)) {
      const result = results[target.id] as TargetResult;
      const { run, cpu } = await measureThroughput(target, plan.connections, plan.durationS);
      result.throughput.push(run);
      for (const [name, value] of Object.entries(cpu)) {
        result.cpuMsPerRequest[name] ??= [];
        result.cpuMsPerRequest[name].push(value);
      }
      result.latency.push(await runJson(target.endpoint, 1, plan.latencyS));
      result.stream.push(await runStream(target.endpoint, plan.streamS));
    }
    for (const child of services()) {
      rssByRound[child.name] ??= [];
      rssByRound[child.name].push(tenth(memoryMb(child.pid).rss));
    }
    onRound(round + 1);
  }
  return { results, rssByRound };
}
