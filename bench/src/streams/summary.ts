/**
 * The stream scenario's figures: one target's rounds summed up (quantiles over every stream of
 * every round, per-process figures as the median of the rounds, memory per stream as the largest), and the checks against the bare
 * hop (b). Pure: the runner measures, this computes.
 */
import { median, quantile, round } from '../stats.ts';
import { completed, lateness, type Pacing, type StreamRecord } from './pacing.ts';

/** What one process did during one round's streams. */
export interface ProcessRound {
  /** CPU time spent from the first stream sent to the last one ended (ms). */
  cpuMs: number;
  /** RSS just before the streams (MB). */
  rssIdleMb: number;
  /** RSS when every stream was open (MB). */
  rssOpenMb: number;
  /** Event-loop delay p99 over the streams (ms), for our services. */
  eldP99Ms?: number;
}

/** One round of one target. */
export interface TargetRound {
  n: number;
  completed: number;
  /** SSE events received by the client, over all streams. */
  chunks: number;
  /** Time to first byte of each completed stream (ms). */
  ttfbMs: number[];
  /** Lateness of every event after the first of each completed stream (ms). */
  latenessMs: number[];
  statusCodes: Record<string, number>;
  /** The first few distinct errors. */
  errors: string[];
  /** Streams open when memory was sampled. */
  openAtSample: number;
  processes: Record<string, ProcessRound>;
}

/** One round's streams reduced to figures; `processes` are the runner's. */
export function roundOf(records: readonly StreamRecord[], pacing: Pacing, openAtSample: number): TargetRound {
  const done = records.filter(completed);
  const statusCodes: Record<string, number> = {};
  const errors = new Set<string>();
  let chunks = 0;
  for (const r of records) {
    statusCodes[String(r.status)] = (statusCodes[String(r.status)] ?? 0) + 1;
    if (r.error !== undefined && errors.size < 5) errors.add(r.error);
    else if (!completed(r) && errors.size < 5) errors.add(`status ${r.status}${r.done ? '' : ', no [DONE]'}`);
    chunks += r.eventsMs.length;
  }
  return {
    n: records.length,
    completed: done.length,
    chunks,
    ttfbMs: done.map((r) => r.ttfbMs),
    latenessMs: done.flatMap((r) => lateness(r, pacing)),
    statusCodes,
    errors: [...errors],
    openAtSample,
    processes: {},
  };
}

/** A process's figures: the median over rounds (RSS per stream: the largest). */
export interface ProcessFigures {
  cpu_us_per_chunk: number;
  rss_kb_per_stream: number;
  eld_p99_ms: number | null;
}

/** One target's summary, as results.json writes it under `streams.targets`. */
export interface StreamSummary {
  n: number;
  rounds: number;
  opened: number;
  completed: number;
  all_completed: boolean;
  ttfb_p50_ms: number;
  ttfb_p99_ms: number;
  /** Each round's own p99 time to first byte, in run order: the first is the cold processes'. */
  ttfb_p99_by_round_ms: number[];
  lateness_p50_ms: number;
  lateness_p99_ms: number;
  chunks: number;
  /** Every process of the chain, upstream included. */
  processes: Record<string, ProcessFigures>;
  /** The hops (the chain without the upstream; (a) is the upstream itself), summed. */
  hops: { names: string[]; cpu_us_per_chunk: number; rss_kb_per_stream: number };
  status_codes: Record<string, number>;
  errors: string[];
}

const UPSTREAM = 'upstream';

/** Sums up a target's rounds; `chain` is its processes in order, upstream last. */
export function summariseStreams(rounds: readonly TargetRound[], chain: readonly string[]): StreamSummary {
  const all = <T>(of: (r: TargetRound) => T[]) => rounds.flatMap(of);
  const ttfb = all((r) => r.ttfbMs);
  const late = all((r) => r.latenessMs);
  const processes: Record<string, ProcessFigures> = {};
  for (const name of chain) {
    const per = rounds.flatMap((r) => {
      const p = r.processes[name];
      return p ? [{ p, r }] : [];
    });
    const eld = per.map(({ p }) => p.eldP99Ms).filter((v): v is number => v !== undefined);
    processes[name] = {
      cpu_us_per_chunk: round(median(per.map(({ p, r }) => (r.chunks > 0 ? (p.cpuMs * 1000) / r.chunks : NaN))), 1),
      // The largest over rounds, not the median: a process keeps the memory its first N streams
      // claimed, so later rounds open theirs in it and show almost nothing (RSS only grows).
      rss_kb_per_stream: round(
        Math.max(
          ...per.map(({ p, r }) => (r.openAtSample > 0 ? ((p.rssOpenMb - p.rssIdleMb) * 1024) / r.openAtSample : NaN)),
        ),
        1,
      ),
      eld_p99_ms: eld.length > 0 ? round(median(eld), 2) : null,
    };
  }
  const hopNames = chain.length > 1 ? chain.filter((c) => c !== UPSTREAM) : [...chain];
  const sum = (of: (p: ProcessFigures) => number) =>
    round(
      hopNames.reduce((n, name) => n + of(processes[name] as ProcessFigures), 0),
      1,
    );
  const statusCodes: Record<string, number> = {};
  for (const r of rounds)
    for (const [c, k] of Object.entries(r.statusCodes)) statusCodes[c] = (statusCodes[c] ?? 0) + k;
  const opened = rounds.reduce((n, r) => n + r.n, 0);
  const done = rounds.reduce((n, r) => n + r.completed, 0);
  return {
    n: rounds[0]?.n ?? 0,
    rounds: rounds.length,
    opened,
    completed: done,
    all_completed: opened > 0 && done === opened,
    ttfb_p50_ms: round(quantile(ttfb, 0.5), 1),
    ttfb_p99_ms: round(quantile(ttfb, 0.99), 1),
    ttfb_p99_by_round_ms: rounds.map((r) => round(quantile(r.ttfbMs, 0.99), 1)),
    lateness_p50_ms: round(quantile(late, 0.5), 1),
    lateness_p99_ms: round(quantile(late, 0.99), 1),
    chunks: rounds.reduce((n, r) => n + r.chunks, 0),
    processes,
    hops: {
      names: hopNames,
      cpu_us_per_chunk: sum((p) => p.cpu_us_per_chunk),
      rss_kb_per_stream: sum((p) => p.rss_kb_per_stream),
    },
    status_codes: statusCodes,
    errors: [...new Set(rounds.flatMap((r) => r.errors))].slice(0, 5),
  };
}

/** What `--streams=max` asks of an N: every stream complete in every target, (d)'s p99 TTFB within 100 ms of (b)'s. */
export function holds(s: Readonly<Record<string, StreamSummary>>): boolean {
  const { b, d } = s;
  return Object.values(s).every((t) => t.all_completed) && !!b && !!d && d.ttfb_p99_ms - b.ttfb_p99_ms <= 100;
}

/** One check against the targets: the value, the limit, whether it holds. */
export interface StreamCheck {
  name: string;
  value: string;
  limit: string;
  met: boolean;
}

/** The store's count of AI calls over the scenario against the streams completed through ai-proxy. */
export interface UsageCheck {
  completed_through_ai_proxy: number;
  opened_through_ai_proxy: number;
  counted_by_store: number | undefined;
  exact: boolean;
}

const r1 = (v: number) => String(round(v, 1));

/**
 * The checks: every stream complete in each target; (d) against (b) on p99 time to first byte
 * (<= 100 ms more), p99 lateness (<= 15 ms more), RSS per open stream (<= 2x + 30 KB) and CPU per
 * chunk (<= 3x, two hops against one); the store counting every stream exactly.
 */
export function streamChecks(s: Readonly<Record<string, StreamSummary>>, usage: UsageCheck | undefined): StreamCheck[] {
  const checks: StreamCheck[] = [];
  for (const [id, t] of Object.entries(s)) {
    checks.push({
      name: `(${id}) every stream completed`,
      value: `${t.completed}/${t.opened}`,
      limit: `${t.opened}/${t.opened}`,
      met: t.all_completed,
    });
  }
  const { b, d } = s;
  if (b && d) {
    const valid = b.all_completed && d.all_completed;
    const ttfb = d.ttfb_p99_ms - b.ttfb_p99_ms;
    checks.push({
      name: '(d) p99 TTFB - (b) p99 TTFB (ms)',
      value: r1(ttfb),
      limit: '<= 100',
      met: valid && ttfb <= 100,
    });
    const late = d.lateness_p99_ms - b.lateness_p99_ms;
    checks.push({
      name: '(d) p99 lateness - (b) p99 lateness (ms)',
      value: r1(late),
      limit: '<= 15',
      met: valid && late <= 15,
    });
    const rss = d.hops.rss_kb_per_stream;
    const rssLimit = 2 * b.hops.rss_kb_per_stream + 30;
    checks.push({
      name: '(d) RSS per open stream, gateway + ai-proxy (KB)',
      value: `${r1(rss)} (${r1(rss / b.hops.rss_kb_per_stream)}x (b))`,
      limit: `<= 2x (b) + 30 = ${r1(rssLimit)}`,
      met: valid && rss <= rssLimit,
    });
    const cpu = d.hops.cpu_us_per_chunk / b.hops.cpu_us_per_chunk;
    checks.push({
      name: '(d) CPU per chunk, gateway + ai-proxy, against (b)',
      value: `${r1(d.hops.cpu_us_per_chunk)} us = ${round(cpu, 2)}x`,
      limit: '<= 3x',
      met: valid && cpu <= 3,
    });
  }
  if (usage) {
    checks.push({
      name: 'store counted every stream through ai-proxy exactly (c and d)',
      value: `${usage.counted_by_store ?? '?'} counted, ${usage.completed_through_ai_proxy} completed`,
      limit: 'equal',
      met: usage.exact,
    });
  }
  return checks;
}
