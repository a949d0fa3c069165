import type { RunStats, StreamStats } from '../../src/load.ts';
import type { TargetResult } from '../../src/run/rounds.ts';

/** A run as load.ts reports it: `rps` requests a second for 1 s, all good unless `bad` is given. */
export function run(rps: number, connections = 50, bad: Partial<RunStats> = {}): RunStats {
  const requests = rps + (bad.non2xx ?? 0) + (bad.errors ?? 0);
  return {
    connections,
    durationS: 1,
    requests,
    ok: rps,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    mismatches: 0,
    statusCodes: { '200': rps, ...(bad.non2xx ? { '502': bad.non2xx } : {}) },
    rps,
    meanMs: (1000 * connections) / rps,
    samples: connections === 1 ? Array.from({ length: 100 }, (_, i) => 1000 / rps + i / 100) : [],
    ...bad,
  };
}

export function stream(ttfbMs: number, failures = 0): StreamStats {
  return {
    durationS: 1,
    requests: 10 + failures,
    ok: 10,
    failures,
    statusCodes: { '200': 10, ...(failures ? { '500': failures } : {}) },
    ttfbMs: Array.from({ length: 10 }, () => ttfbMs),
    totalMs: Array.from({ length: 10 }, () => ttfbMs * 2),
  };
}

/**
 * A target's rounds: throughput `rps[i]` in round i, one-connection latency of `meanMs`, streaming
 * ttfb `ttfbMs`, and CPU ms per request by process, per round.
 */
export function result(options: {
  rps: number[];
  meanMs: number;
  ttfbMs?: number;
  cpu?: Record<string, number[]>;
  streamFailures?: number;
}): TargetResult {
  return {
    throughput: options.rps.map((r) => run(r)),
    latency: options.rps.map(() => run(1000 / options.meanMs, 1)),
    stream: options.rps.map(() => stream(options.ttfbMs ?? options.meanMs, options.streamFailures)),
    cpuMsPerRequest: options.cpu ?? {},
  };
}
