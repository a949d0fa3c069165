/**
 * `bench/results.json`: the method, every target's summary, the comparisons against (a) and (b),
 * the paired variants, the checks, each process's memory, what the OTLP sink received and whether
 * the store counted every call. Pure: the caller writes it.
 */
import { cpus, totalmem } from 'node:os';
import type { RoundsOutcome } from '../run/rounds.ts';
import { round } from '../stats.ts';
import type { Check } from './checks.ts';
import type { PairedRatios } from './paired.ts';
import { compare, type Summary } from './summary.ts';

export interface ResultsInput {
  startedAt: number;
  plan: { rounds: number; connections: number; durationS: number; latencyS: number; streamS: number };
  /** Target ids in run order, with their labels and letters. */
  targets: ReadonlyArray<{ id: string; label: string; letter: string }>;
  summaries: Readonly<Record<string, Summary>>;
  outcome: RoundsOutcome;
  paired: Readonly<Record<string, PairedRatios>>;
  checks: readonly Check[];
  services: readonly string[];
  peakRss: Readonly<Record<string, number>>;
  sinkStats: Record<string, unknown>;
  /** The plain stack's store count of AI calls before and after the rounds (undefined without one). */
  usage: { before: number | undefined; after: number | undefined };
}

/** Requests answered through ai-proxy: every c and d target's, variants and baselines too. */
export function answeredThroughAiProxy(input: Pick<ResultsInput, 'targets' | 'outcome'>): number {
  let n = 0;
  for (const t of input.targets) {
    const r = input.outcome.results[t.id];
    if (!r || (t.letter !== 'c' && t.letter !== 'd')) continue;
    for (const runs of [r.throughput, r.latency, r.stream]) for (const x of runs) n += x.requests;
  }
  return n;
}

/** The object results.json holds. */
export function buildResults(input: ResultsInput) {
  const { summaries, plan } = input;
  const comparisons: Record<string, unknown> = {};
  for (const { id } of input.targets) {
    if (id === 'a' || id === 'b') continue;
    comparisons[id] = {
      vs_a: summaries.a ? compare(summaries[id] as Summary, summaries.a) : undefined,
      vs_b: summaries.b ? compare(summaries[id] as Summary, summaries.b) : undefined,
    };
  }
  const { before, after } = input.usage;
  return {
    generated_at: new Date().toISOString(),
    wall_time_s: round((Date.now() - input.startedAt) / 1000, 1),
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      memory_gb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    method: {
      rounds: plan.rounds,
      throughput: { connections: plan.connections, duration_s: plan.durationS },
      latency: { connections: 1, duration_s: plan.latencyS, mean: '1000 / requests per second' },
      stream: { connections: 1, duration_s: plan.streamS, measure: 'time to first body byte, and to [DONE]' },
      request: 'POST chat/completions, one user message, max_tokens 64 (stream: true for the stream case)',
      upstream: '@flashcase/fake-openai, latency 0, recording off',
      services:
        'ENVIRONMENT=production, OTLP traces and logs to a loopback sink, /metrics on, Redis counters, RATE_LIMIT_*=0',
    },
    targets: Object.fromEntries(input.targets.map((t) => [t.id, { label: t.label, ...summaries[t.id] }])),
    comparisons,
    paired: input.paired,
    checks: input.checks,
    processes: Object.fromEntries(
      input.services.map((name) => [
        name,
        { peak_rss_mb: input.peakRss[name], rss_after_each_round_mb: input.outcome.rssByRound[name] },
      ]),
    ),
    telemetry_received_by_sink: input.sinkStats,
    usage_check:
      after === undefined
        ? undefined
        : {
            answered_through_ai_proxy: answeredThroughAiProxy(input),
            counted_by_store: after - (before ?? 0),
            note: 'measured rounds only; the store may count up to 50 more per throughput run and 1 per latency run: requests still in flight when autocannon stops are served and counted, but not answered to it',
          },
  };
}
