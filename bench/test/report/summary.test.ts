import { describe, expect, it } from 'vitest';
import { compare, problemsOf, summarise } from '../../src/report/summary.ts';
import { result, run } from './fixtures.ts';

describe('target summary', () => {
  it('reports the median round, the latency from the one-connection rate and each process median CPU', () => {
    const s = summarise(result({ rps: [900, 1000, 1200], meanMs: 2, cpu: { gw: [0.2, 0.3, 0.25] } }), 50);
    expect(s.valid).toBe(true);
    expect(s.stream_valid).toBe(true);
    expect(s.throughput).toMatchObject({ connections: 50, rps: 1000, rounds_rps: [900, 1000, 1200], requests: 3100 });
    expect(s.latency.mean_ms).toBe(2);
    expect(s.cpu_ms_per_request).toEqual({ gw: 0.25 });
  });

  it('marks a target with failed answers invalid and names the statuses', () => {
    const r = result({ rps: [1000], meanMs: 2 });
    r.throughput[0] = run(1000, 50, { non2xx: 3 });
    expect(problemsOf(r)).toEqual(['throughput: 3 failed answers (status 200x1000 502x3)']);
    expect(summarise(r, 50).valid).toBe(false);
  });

  it('keeps a target whose streams failed valid for JSON, with its stream figures flagged', () => {
    const s = summarise(result({ rps: [1000], meanMs: 2, streamFailures: 2 }), 50);
    expect(s.valid).toBe(true);
    expect(s.stream_valid).toBe(false);
    expect(s.problems).toEqual(['stream: 2 failed answers (status 200x10 500x2)']);
    expect(compare(s, s).added_ttfb_ms).toBeNull();
  });

  it('compares added latency and the throughput ratio of the medians', () => {
    const a = summarise(result({ rps: [2000], meanMs: 0.5 }), 50);
    const d = summarise(result({ rps: [1000], meanMs: 1.5, ttfbMs: 2 }), 50);
    expect(compare(d, a)).toMatchObject({ added_mean_ms: 1, throughput_ratio: 0.5, added_ttfb_ms: 1.5 });
  });
});
