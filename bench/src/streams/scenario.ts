/**
 * `--streams=N` (CONTRACT.md section 9): instead of the rounds, N concurrent streams from a paced
 * upstream through (a) the upstream itself, (b) the bare hop, (c) ai-proxy and (d) gateway ->
 * ai-proxy, interleaved, with the checks against (b); `--streams=max` searches the largest N held.
 * Writes its figures into results.json under `streams`, keeping what else the file holds.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessGroup } from '../run/process-group.ts';
import { openSession } from '../run/session.ts';
import { usageCounted } from '../run/store-keys.ts';
import { round } from '../stats.ts';
import { parseTarget, type Target } from '../targets/ids.ts';
import type { RunningTarget } from '../targets/table.ts';
import { checkOpenFiles, maxStreamsFor, ownOpenFilesLimit } from './fd-limit.ts';
import { runStreams, type StreamRunPlan, warmStreams } from './measure.ts';
import type { Pacing } from './pacing.ts';
import { DEFAULT_SEARCH, nextStreams, type Tried } from './search.ts';
import {
  holds,
  type StreamSummary,
  streamChecks,
  summariseStreams,
  type TargetRound,
  type UsageCheck,
} from './summary.ts';
import { formatRoundsTtfb, formatSearch, formatStreamChecks, formatStreamsTable } from './table.ts';

export interface StreamsOptions {
  streams: number | 'max';
  rounds: number;
  pacing: Pacing;
  out: string;
  /** Progress lines go here. */
  log: (line: string) => void;
  /**
   * Variants of c and d and baseline checkouts (`c-otel-off`, `d@base`) run after the four in
   * each round, shown in the table; the checks stay on the four.
   */
  extraTargets?: readonly Target[] | undefined;
}

const TARGET_IDS = ['a', 'b', 'c', 'd'] as const;
const RAMP_MS = 1000;

/** One N run through every target. */
interface StreamRun {
  n: number;
  summaries: Record<string, StreamSummary>;
  held: boolean;
}

/** The store's count once it stops moving (the last streams' usage is written after their [DONE]). */
async function settledCount(url: string, token: string): Promise<number | undefined> {
  let last = await usageCounted(url, token);
  for (let i = 0; i < 10; i++) {
    await sleep(300);
    const now = await usageCounted(url, token);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Runs the scenario and returns what to print. */
export async function runStreamsScenario(processes: ProcessGroup, options: StreamsOptions): Promise<string> {
  const startedAt = Date.now();
  const limit = ownOpenFilesLimit();
  const cap = Math.min(DEFAULT_SEARCH.max, maxStreamsFor(limit));
  if (options.streams === 'max') {
    if (cap < DEFAULT_SEARCH.start) checkOpenFiles(DEFAULT_SEARCH.start, limit);
  } else {
    checkOpenFiles(options.streams, limit);
  }
  const { pacing } = options;
  const targets = [...TARGET_IDS.map((id) => parseTarget(id)), ...(options.extraTargets ?? [])];
  const shownIds = targets.map((t) => t.id);
  const labels = Object.fromEntries(targets.map((t) => [t.id, t.label]));
  // The fake with every stream paced: `chunks` content chunks `intervalMs` apart.
  const upstreamFlags = ['--reply-tokens', String(pacing.chunks), '--chunk-delay-ms', String(pacing.intervalMs)];
  const session = await openSession(processes, targets, { upstreamFlags });
  const { settings } = session.ctx;
  const aiProxyUrl = session.plainAiProxyUrl as string;
  options.log(`warming up (${pacing.chunks} chunks ${pacing.intervalMs} ms apart per stream)\n`);
  await warmStreams(session.running, pacing);
  const before = await settledCount(aiProxyUrl, settings.internalToken);

  let throughAiProxy = { completed: 0, opened: 0 };
  const runAt = async (n: number): Promise<StreamRun> => {
    const plan: StreamRunPlan = { n, rounds: options.rounds, pacing, rampMs: RAMP_MS };
    const rounds = await runStreams(session.running, plan, (id, r) => {
      const elapsed = round((Date.now() - startedAt) / 1000, 0);
      options.log(`  N=${n} (${id}): ${r.completed}/${r.n} complete (${elapsed} s)\n`);
    });
    const summaries = summarise(session.running, rounds);
    // Every stack through an ai-proxy writes to the one store (variants and baselines too).
    for (const { id } of targets.filter((t) => t.letter === 'c' || t.letter === 'd')) {
      const s = summaries[id];
      if (s)
        throughAiProxy = {
          completed: throughAiProxy.completed + s.completed,
          opened: throughAiProxy.opened + s.opened,
        };
    }
    return { n, summaries, held: holds(summaries) };
  };

  const runs: StreamRun[] = [];
  if (options.streams === 'max') {
    const bounds = { ...DEFAULT_SEARCH, max: cap };
    for (let n = nextStreams([], bounds); n !== undefined; n = nextStreams(runs, bounds)) {
      const run = await runAt(n);
      runs.push(run);
      options.log(`N=${n}: ${run.held ? 'held' : 'did not hold'}\n`);
    }
  } else {
    runs.push(await runAt(options.streams));
  }

  const after = await settledCount(aiProxyUrl, settings.internalToken);
  const counted = after === undefined || before === undefined ? undefined : after - before;
  const usage: UsageCheck = {
    completed_through_ai_proxy: throughAiProxy.completed,
    opened_through_ai_proxy: throughAiProxy.opened,
    counted_by_store: counted,
    exact: counted === throughAiProxy.completed,
  };
  const tried: Tried[] = runs.map((r) => ({ n: r.n, held: r.held }));
  const largest = Math.max(0, ...runs.filter((r) => r.held).map((r) => r.n));
  // The table shown: the run asked for, or the search's largest N held (its last run when none held).
  const shown = (options.streams === 'max' ? runs.find((r) => r.n === largest) : undefined) ?? runs[runs.length - 1];
  if (!shown) throw new Error('streams: no run');
  const checks = streamChecks(shown.summaries, usage);
  const results = {
    generated_at: new Date().toISOString(),
    wall_time_s: round((Date.now() - startedAt) / 1000, 1),
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      memory_gb: round(totalmem() / 2 ** 30, 1),
      load: loadavg(),
    },
    method: {
      streams: options.streams,
      rounds: options.rounds,
      ramp_ms: RAMP_MS,
      pacing: { chunks: pacing.chunks, interval_ms: pacing.intervalMs },
      request:
        'POST chat/completions, stream: true with include_usage, one user message, each stream on its own socket',
      lateness:
        'arrival of each SSE event minus its due time (min(k, chunks + 1) * interval) from the stream first byte',
      rss_per_stream: '(RSS when all N were open - RSS just before) / streams open',
      cpu_per_chunk: 'process CPU time (/proc) from the first stream sent to the last ended / SSE events received',
      eld: 'nodejs_eventloop_delay_p99 from /metrics over the streams (runtime-node resets it per scrape; idle reads ~10 ms, the sampling interval)',
    },
    n: shown.n,
    targets: Object.fromEntries(targets.map((t) => [t.id, { label: t.label, ...shown.summaries[t.id] }])),
    checks,
    usage_check: usage,
    ...(options.streams === 'max' ? { search: { tried: runs, largest, cap } } : {}),
  };
  writeResults(options.out, results);
  return [
    `\nStreams: N=${shown.n}, ${options.rounds} round(s), ${pacing.chunks} chunks ${pacing.intervalMs} ms apart, opened over ${RAMP_MS} ms`,
    formatStreamsTable(shownIds, labels, shown.summaries),
    formatRoundsTtfb(shownIds, shown.summaries),
    formatStreamChecks(checks),
    options.streams === 'max' ? formatSearch(tried, largest, cap) : '',
    `\nwrote ${options.out} (streams) in ${results.wall_time_s} s\n`,
  ].join('');
}

function summarise(running: readonly RunningTarget[], rounds: Record<string, TargetRound[]>) {
  const summaries: Record<string, StreamSummary> = {};
  for (const t of running)
    summaries[t.id] = summariseStreams(
      rounds[t.id] ?? [],
      t.chain.map((c) => c.name),
    );
  return summaries;
}

/** Sets `streams` in the results file, keeping what else it holds (the rounds' figures). */
function writeResults(out: string, streams: unknown): void {
  let existing: Record<string, unknown> = {};
  if (existsSync(out)) {
    try {
      existing = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    } catch {
      existing = {};
    }
  }
  writeFileSync(out, `${JSON.stringify({ ...existing, streams }, null, 2)}\n`);
}
