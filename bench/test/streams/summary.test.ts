import { describe, expect, it } from 'vitest';
import type { Pacing, StreamRecord } from '../../src/streams/pacing.ts';
import {
  holds,
  roundOf,
  type StreamSummary,
  streamChecks,
  summariseStreams,
  type TargetRound,
} from '../../src/streams/summary.ts';

const pacing: Pacing = { chunks: 2, intervalMs: 100 };
/** A completed stream: first byte at `ttfb`, every event `late` ms late. */
const ok = (ttfb: number, late = 0): StreamRecord => ({
  status: 200,
  done: true,
  ttfbMs: ttfb,
  eventsMs: [ttfb, ttfb + 100 + late, ttfb + 200 + late, ttfb + 300 + late, ttfb + 300 + late],
});

/** A round of `n` streams through a chain, with per-process CPU and RSS. */
function round(
  chain: Record<string, { cpuMs: number; idle: number; open: number }>,
  ttfb: number,
  late = 0,
): TargetRound {
  const r = roundOf(
    Array.from({ length: 10 }, () => ok(ttfb, late)),
    pacing,
    10,
  );
  for (const [name, p] of Object.entries(chain)) {
    r.processes[name] = { cpuMs: p.cpuMs, rssIdleMb: p.idle, rssOpenMb: p.open, eldP99Ms: 11 };
  }
  return r;
}

describe('stream summaries', () => {
  it('reduces a round to completed streams, chunks, TTFB and lateness, and names what failed', () => {
    const r = roundOf(
      [
        ok(5, 3),
        { status: 503, done: false, ttfbMs: 2, eventsMs: [] },
        { status: 0, done: false, ttfbMs: Number.NaN, eventsMs: [], error: 'ECONNRESET' },
      ],
      pacing,
      3,
    );
    expect(r).toMatchObject({
      n: 3,
      completed: 1,
      chunks: 5,
      ttfbMs: [5],
      statusCodes: { '200': 1, '503': 1, '0': 1 },
    });
    expect(r.latenessMs).toEqual([3, 3, 3, 3]);
    expect(r.errors).toEqual(['status 503, no [DONE]', 'ECONNRESET']);
  });

  it('gives CPU us per chunk and RSS KB per open stream per process, and sums the hops without the upstream', () => {
    const chain = {
      gateway: { cpuMs: 5, idle: 100, open: 101 },
      'ai-proxy': { cpuMs: 10, idle: 100, open: 102 },
      upstream: { cpuMs: 1, idle: 50, open: 50.5 },
    };
    const s = summariseStreams([round(chain, 4)], ['gateway', 'ai-proxy', 'upstream']);
    // 10 streams x 5 events = 50 chunks; 5 ms / 50 = 100 us; 1 MB / 10 streams = 102.4 KB.
    expect(s.processes.gateway).toEqual({ cpu_us_per_chunk: 100, rss_kb_per_stream: 102.4, eld_p99_ms: 11 });
    expect(s.processes['ai-proxy']).toMatchObject({ cpu_us_per_chunk: 200, rss_kb_per_stream: 204.8 });
    expect(s.hops).toEqual({ names: ['gateway', 'ai-proxy'], cpu_us_per_chunk: 300, rss_kb_per_stream: 307.2 });
    expect(s).toMatchObject({ opened: 10, completed: 10, all_completed: true, ttfb_p99_ms: 4, lateness_p99_ms: 0 });
  });

  it('takes the memory per open stream from the round that claimed it: later rounds reuse it', () => {
    const first = round({ x: { cpuMs: 10, idle: 100, open: 102 } }, 4);
    // The heap kept what the first round grew: the next rounds open their streams in it.
    const later = [
      round({ x: { cpuMs: 20, idle: 102, open: 102.1 } }, 4),
      round({ x: { cpuMs: 30, idle: 102, open: 102 } }, 4),
    ];
    const s = summariseStreams([first, ...later], ['x']);
    expect(s.processes.x?.rss_kb_per_stream).toBe(204.8);
    // CPU stays the median round's: 20 ms / 50 chunks.
    expect(s.processes.x?.cpu_us_per_chunk).toBe(400);
  });

  it('shows the upstream as the hop of (a), and pools TTFB over every round', () => {
    const up = { upstream: { cpuMs: 1, idle: 50, open: 50.5 } };
    const s = summariseStreams([round(up, 2), round(up, 8)], ['upstream']);
    expect(s.hops.names).toEqual(['upstream']);
    expect(s.rounds).toBe(2);
    expect(s.ttfb_p99_by_round_ms).toEqual([2, 8]);
    expect(s.opened).toBe(20);
    expect(s.ttfb_p50_ms).toBe(2);
    expect(s.ttfb_p99_ms).toBe(8);
  });
});

/** A summary with the figures the checks read. */
function summary(over: Partial<StreamSummary> & { cpu: number; rss: number }): StreamSummary {
  const { cpu, rss, ...rest } = over;
  return {
    n: 1000,
    rounds: 1,
    opened: 1000,
    completed: 1000,
    all_completed: true,
    ttfb_p50_ms: 5,
    ttfb_p99_ms: 50,
    ttfb_p99_by_round_ms: [50],
    lateness_p50_ms: 1,
    lateness_p99_ms: 20,
    chunks: 23_000,
    processes: {},
    hops: { names: ['x'], cpu_us_per_chunk: cpu, rss_kb_per_stream: rss },
    status_codes: { '200': 1000 },
    errors: [],
    ...rest,
  };
}

describe('stream checks against (b)', () => {
  const b = summary({ cpu: 100, rss: 50 });
  const usage = {
    completed_through_ai_proxy: 2000,
    opened_through_ai_proxy: 2000,
    counted_by_store: 2000,
    exact: true,
  };

  it('meets every target when (d) is within them', () => {
    const d = summary({ cpu: 300, rss: 130, ttfb_p99_ms: 150, lateness_p99_ms: 35 });
    const checks = streamChecks({ b, d }, usage);
    expect(checks.map((c) => [c.name, c.met])).toEqual([
      ['(b) every stream completed', true],
      ['(d) every stream completed', true],
      ['(d) p99 TTFB - (b) p99 TTFB (ms)', true],
      ['(d) p99 lateness - (b) p99 lateness (ms)', true],
      ['(d) RSS per open stream, gateway + ai-proxy (KB)', true],
      ['(d) CPU per chunk, gateway + ai-proxy, against (b)', true],
      ['store counted every stream through ai-proxy exactly (c and d)', true],
    ]);
  });

  it('misses each target just past its limit, and all of them when a stream is incomplete', () => {
    const d = summary({ cpu: 301, rss: 130.5, ttfb_p99_ms: 150.5, lateness_p99_ms: 35.5 });
    expect(
      streamChecks({ b, d }, undefined)
        .filter((c) => !c.met)
        .map((c) => c.name),
    ).toEqual([
      '(d) p99 TTFB - (b) p99 TTFB (ms)',
      '(d) p99 lateness - (b) p99 lateness (ms)',
      '(d) RSS per open stream, gateway + ai-proxy (KB)',
      '(d) CPU per chunk, gateway + ai-proxy, against (b)',
    ]);
    const broken = summary({ cpu: 100, rss: 50, completed: 999, all_completed: false });
    expect(streamChecks({ b, d: broken }, undefined).every((c) => c.name.startsWith('(b)') || !c.met)).toBe(true);
  });

  it('fails the store check when the count differs from the streams completed', () => {
    const checks = streamChecks({}, { ...usage, counted_by_store: 1999, exact: false });
    expect(checks).toEqual([expect.objectContaining({ met: false, value: '1999 counted, 2000 completed' })]);
  });
});

describe('what the largest-N search holds to', () => {
  const b = summary({ cpu: 100, rss: 50, ttfb_p99_ms: 400 });
  it('holds with every stream complete and (d) p99 TTFB within 100 ms of (b)', () => {
    expect(holds({ b, d: summary({ cpu: 900, rss: 900, ttfb_p99_ms: 500 }) })).toBe(true);
    expect(holds({ b, d: summary({ cpu: 1, rss: 1, ttfb_p99_ms: 501 }) })).toBe(false);
    expect(holds({ b, d: summary({ cpu: 1, rss: 1, completed: 999, all_completed: false }) })).toBe(false);
    expect(holds({ a: summary({ cpu: 1, rss: 1, all_completed: false }), b, d: b })).toBe(false);
    expect(holds({ b })).toBe(false);
  });
});
