/**
 * One target's rounds summed up (medians of the rounds, latency quantiles over every sample), the
 * comparisons against (a) and (b), and the problems that make a target's figures meaningless.
 * Pure: what results.json and the table print.
 */
import type { TargetResult } from '../run/rounds.ts';
import { mean, median, quantile, round } from '../stats.ts';

const statusList = (codes: Record<string, number>[]) =>
  codes.flatMap((c) => Object.entries(c).map(([code, n]) => `${code}x${n}`)).join(' ');

/** Why a target is invalid: any non-2xx, error, timeout or body mismatch, per kind of run. */
export function problemsOf(result: TargetResult): string[] {
  const problems: string[] = [];
  for (const [kind, runs] of [
    ['throughput', result.throughput],
    ['latency', result.latency],
  ] as const) {
    const bad = runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts + r.mismatches, 0);
    if (bad > 0) problems.push(`${kind}: ${bad} failed answers (status ${statusList(runs.map((r) => r.statusCodes))})`);
  }
  const streamBad = result.stream.reduce((n, s) => n + s.failures, 0);
  if (streamBad > 0) {
    problems.push(
      `stream: ${streamBad} failed answers (status ${statusList(result.stream.map((s) => s.statusCodes))})`,
    );
  }
  return problems;
}

/** The summary of one target, as results.json writes it under `targets`. */
export function summarise(result: TargetResult, connections: number) {
  const tputRps = median(result.throughput.map((r) => r.rps));
  const latRps = median(result.latency.map((r) => r.rps));
  const samples = result.latency.flatMap((r) => r.samples);
  const ttfb = result.stream.flatMap((s) => s.ttfbMs);
  const total = result.stream.flatMap((s) => s.totalMs);
  const problems = problemsOf(result);
  const cpu: Record<string, number> = {};
  for (const [name, values] of Object.entries(result.cpuMsPerRequest)) cpu[name] = round(median(values), 3);
  const sum = <T>(runs: T[], of: (r: T) => number) => runs.reduce((n, r) => n + of(r), 0);
  return {
    valid: !problems.some((p) => !p.startsWith('stream')),
    stream_valid: !problems.some((p) => p.startsWith('stream')),
    problems,
    throughput: {
      connections,
      rps: round(tputRps, 0),
      rounds_rps: result.throughput.map((r) => round(r.rps, 0)),
      requests: sum(result.throughput, (r) => r.requests),
      non2xx: sum(result.throughput, (r) => r.non2xx),
      errors: sum(result.throughput, (r) => r.errors + r.timeouts),
      mismatches: sum(result.throughput, (r) => r.mismatches),
    },
    latency: {
      connections: 1,
      rps: round(latRps, 0),
      mean_ms: round(1000 / latRps, 3),
      p50_ms: round(quantile(samples, 0.5), 3),
      p99_ms: round(quantile(samples, 0.99), 3),
      rounds_mean_ms: result.latency.map((r) => round(r.meanMs, 3)),
      requests: sum(result.latency, (r) => r.requests),
      non2xx: sum(result.latency, (r) => r.non2xx),
      errors: sum(result.latency, (r) => r.errors + r.timeouts),
      mismatches: sum(result.latency, (r) => r.mismatches),
    },
    stream: {
      connections: 1,
      requests: sum(result.stream, (s) => s.requests),
      ok: sum(result.stream, (s) => s.ok),
      failures: sum(result.stream, (s) => s.failures),
      status_codes: result.stream.reduce<Record<string, number>>((acc, s) => {
        for (const [c, n] of Object.entries(s.statusCodes)) acc[c] = (acc[c] ?? 0) + n;
        return acc;
      }, {}),
      ttfb_mean_ms: round(mean(ttfb), 3),
      ttfb_p50_ms: round(quantile(ttfb, 0.5), 3),
      ttfb_p99_ms: round(quantile(ttfb, 0.99), 3),
      total_mean_ms: round(mean(total), 3),
    },
    cpu_ms_per_request: cpu,
  };
}

/** A target's summary. */
export type Summary = ReturnType<typeof summarise>;

/** `x` against `base`: added latency (ms) and the throughput ratio of the medians. */
export function compare(x: Summary, base: Summary) {
  return {
    added_mean_ms: round(x.latency.mean_ms - base.latency.mean_ms, 3),
    added_p50_ms: round(x.latency.p50_ms - base.latency.p50_ms, 3),
    added_p99_ms: round(x.latency.p99_ms - base.latency.p99_ms, 3),
    throughput_ratio: round(x.throughput.rps / base.throughput.rps, 3),
    added_ttfb_ms:
      x.stream_valid && base.stream_valid ? round(x.stream.ttfb_mean_ms - base.stream.ttfb_mean_ms, 3) : null,
  };
}
