import { describe, expect, it } from 'vitest';
import type { StreamSummary } from '../../src/streams/summary.ts';
import { formatRoundsTtfb, formatSearch, formatStreamChecks, formatStreamsTable } from '../../src/streams/table.ts';

const proc = (cpu: number, rss: number, eld: number | null) => ({
  cpu_us_per_chunk: cpu,
  rss_kb_per_stream: rss,
  eld_p99_ms: eld,
});

function summary(
  hops: string[],
  processes: StreamSummary['processes'],
  over: Partial<StreamSummary> = {},
): StreamSummary {
  return {
    n: 1000,
    rounds: 1,
    opened: 1000,
    completed: 1000,
    all_completed: true,
    ttfb_p50_ms: 3.2,
    ttfb_p99_ms: 41.7,
    ttfb_p99_by_round_ms: [41.7],
    lateness_p50_ms: 1.1,
    lateness_p99_ms: 20,
    chunks: 23_000,
    processes,
    hops: { names: hops, cpu_us_per_chunk: 0, rss_kb_per_stream: 0 },
    status_codes: { '200': 1000 },
    errors: [],
    ...over,
  };
}

describe('stream table', () => {
  const summaries = {
    a: summary(['upstream'], { upstream: proc(50, 20, null) }),
    d: summary(
      ['gateway', 'ai-proxy'],
      { gateway: proc(120.4, 80.2, 12.3), 'ai-proxy': proc(180, 95, 14.1), upstream: proc(50, 20, null) },
      {
        lateness_p99_ms: 32.5,
        completed: 990,
        all_completed: false,
        status_codes: { '200': 990, '503': 10 },
        errors: ['status 503, no [DONE]'],
      },
    ),
  };
  const text = formatStreamsTable(['a', 'd'], { a: 'upstream (direct)', d: 'gateway -> ai-proxy' }, summaries);
  const rows = text.split('\n').filter((l) => l.startsWith('('));

  it('prints a row per target: completed, TTFB, lateness and added over (a), per-hop CPU, RSS and ELD', () => {
    expect(rows[0]).toMatch(/^\(a\) upstream \(direct\)\s+1000\/1000\s+3\.2\s+41\.7\s+1\.1\s+20\.0\s+-\s+50\s+20\s+-$/);
    expect(rows[1]).toMatch(
      /^\(d\) gateway -> ai-proxy\s+990\/1000\s+3\.2\s+41\.7\s+1\.1\s+32\.5\s+12\.5\s+120\+180\s+80\+95\s+12\.3\+14\.1$/,
    );
  });

  it('lists what went wrong under the table for a target with incomplete streams', () => {
    expect(text).toContain('(d) 10 streams incomplete (status 200x990 503x10): status 503, no [DONE]');
    expect(text).not.toContain('(a) 0 streams incomplete');
  });

  it('prints each check as MET or UNMET, and the N the search tried', () => {
    expect(
      formatStreamChecks([
        { name: 'x', value: '1', limit: '<= 2', met: true },
        { name: 'y', value: '3', limit: '<= 2', met: false },
      ]),
    ).toBe('\nStream checks:\n  MET   x: 1 (limit <= 2)\n  UNMET y: 3 (limit <= 2)\n');
    const search = formatSearch(
      [
        { n: 250, held: true },
        { n: 500, held: false },
      ],
      250,
      4000,
    );
    expect(search).toContain('N=  250  held\n  N=  500  did not hold\n  largest: 250');
  });

  it("lists each round's p99 TTFB for the targets run more than once, and nothing for one round", () => {
    const three = {
      b: summary(['bare'], {}, { rounds: 3, ttfb_p99_by_round_ms: [15.2, 22, 12.4] }),
      d: summary(['gateway', 'ai-proxy'], {}, { rounds: 3, ttfb_p99_by_round_ms: [142.7, 50.1, 27] }),
    };
    expect(formatRoundsTtfb(['b', 'd'], three)).toBe(
      '\nTTFB p99 by round (ms, first round cold):\n  (b) 15.2, 22.0, 12.4\n  (d) 142.7, 50.1, 27.0\n',
    );
    expect(formatRoundsTtfb(['d'], { d: summary(['gateway'], {}) })).toBe('');
  });
});
