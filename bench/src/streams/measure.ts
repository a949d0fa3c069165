/**
 * One run of the stream scenario at N: for each target, interleaved (the order rotated each
 * round), N streams opened over the ramp and read to the end, with each process of the chain
 * measured around them: CPU time from /proc over the streams, RSS just before and when all N are
 * open, and the event-loop delay p99 of our services over the streams (their /metrics).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, memoryMb } from '../processes.ts';
import { roundOrder } from '../run/rounds.ts';
import type { RunningTarget } from '../targets/table.ts';
import { openStreams } from './client.ts';
import { eventLoopDelayP99Ms } from './metrics.ts';
import { type Pacing, streamLengthMs } from './pacing.ts';
import { type ProcessRound, roundOf, type TargetRound } from './summary.ts';

export interface StreamRunPlan {
  n: number;
  rounds: number;
  pacing: Pacing;
  /** The streams are opened over this many ms. */
  rampMs: number;
}

/** A stream still open this long after its due end is given up (a stuck relay must not hang the run). */
const DEADLINE_SLACK_MS = 30_000;

/** N streams through one target, with its processes measured around them. */
export async function measureTarget(target: RunningTarget, plan: StreamRunPlan): Promise<TargetRound> {
  const metrics = Object.entries(target.metrics);
  // This scrape starts the event-loop delay window: runtime-node resets its histogram at each collection.
  await Promise.all(metrics.map(([, url]) => eventLoopDelayP99Ms(url)));
  const idle = target.chain.map((c) => memoryMb(c.pid).rss);
  const open = target.chain.map(() => Number.NaN);
  let openAtSample = 0;
  const cpuBefore = target.chain.map((c) => cpuMs(c.pid));
  const records = await openStreams(target.endpoint, {
    n: plan.n,
    rampMs: plan.rampMs,
    deadlineMs: plan.rampMs + streamLengthMs(plan.pacing) + DEADLINE_SLACK_MS,
    onAllOpen(count) {
      openAtSample = count;
      target.chain.forEach((c, i) => {
        open[i] = memoryMb(c.pid).rss;
      });
    },
  });
  const cpuAfter = target.chain.map((c) => cpuMs(c.pid));
  const eld = new Map(
    await Promise.all(metrics.map(async ([name, url]) => [name, await eventLoopDelayP99Ms(url)] as const)),
  );
  const round = roundOf(records, plan.pacing, openAtSample);
  target.chain.forEach((c, i) => {
    const figures: ProcessRound = {
      cpuMs: (cpuAfter[i] as number) - (cpuBefore[i] as number),
      rssIdleMb: idle[i] as number,
      rssOpenMb: open[i] as number,
    };
    const delay = eld.get(c.name);
    if (delay !== undefined) figures.eldP99Ms = delay;
    round.processes[c.name] = figures;
  });
  return round;
}

/** Every round of every target at `plan.n`; `onTarget` hears of each target done. */
export async function runStreams(
  targets: readonly RunningTarget[],
  plan: StreamRunPlan,
  onTarget: (id: string, round: TargetRound) => void = () => {},
): Promise<Record<string, TargetRound[]>> {
  const out: Record<string, TargetRound[]> = {};
  for (const t of targets) out[t.id] = [];
  for (let r = 0; r < plan.rounds; r++) {
    for (const target of roundOrder(targets, r)) {
      const round = await measureTarget(target, plan);
      out[target.id]?.push(round);
      onTarget(target.id, round);
      // Let the closed sockets go before the next target's idle RSS is read.
      await sleep(500);
    }
  }
  return out;
}

/** A few streams through every target at once: JIT, pools and connections, before anything is measured. */
export async function warmStreams(targets: readonly RunningTarget[], pacing: Pacing): Promise<void> {
  const deadlineMs = streamLengthMs(pacing) + DEADLINE_SLACK_MS;
  await Promise.all(targets.map((t) => openStreams(t.endpoint, { n: 20, rampMs: 200, deadlineMs })));
}
