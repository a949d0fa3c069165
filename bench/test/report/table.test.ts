import { describe, expect, it } from 'vitest';
import { type PairedRatios, pairedRatios } from '../../src/report/paired.ts';
import { summarise } from '../../src/report/summary.ts';
import { fmt, formatChecks, formatMemlog, formatPaired, formatTable } from '../../src/report/table.ts';
import { result } from './fixtures.ts';

const a = result({ rps: [10_000], meanMs: 0.2, cpu: { upstream: [0.05] } });
const d = result({
  rps: [1_000],
  meanMs: 1.2,
  ttfbMs: 1.5,
  cpu: { 'full-gateway': [0.3], 'full-ai-proxy': [0.4], upstream: [0.05] },
});
const stock = result({
  rps: [800],
  meanMs: 1.4,
  cpu: { 'stock-logs-gateway': [0.35], 'stock-logs-ai-proxy': [0.55], upstream: [0.05] },
});
const labels = {
  a: 'upstream (direct)',
  d: 'gateway -> ai-proxy',
  'd-stock-logs': 'gateway -> ai-proxy, stock winston logs',
};

describe('report formatting', () => {
  it('prints a row per target with its ratios to (a), CPU over the chain and RSS of our processes', () => {
    const summaries = { a: summarise(a, 50), d: summarise(d, 50) };
    const text = formatTable(['a', 'd'], labels, summaries, {
      'full-gateway': 81.4,
      'full-ai-proxy': 95.6,
      upstream: 60,
    });
    const [head, rule, rowA, rowD] = text.trim().split('\n') as string[];
    expect(head).toMatch(/^target\s+rps@50\s+x\(a\)\s+x\(b\)\s+mean@1/);
    expect(rule).toMatch(/^-+$/);
    expect(rowA).toMatch(/^\(a\) upstream \(direct\)\s+10000\s+1\.00\s+-\s+0\.200\s/);
    expect(rowD?.split(/\s{2,}/).slice(-2)).toEqual(['0.750', '81+96']);
    expect(rowD).toContain(' 0.10 ');
    expect(text).toContain('cpu/req: CPU ms per request summed over the chain (upstream included)');
  });

  it('widens the first column for long labels and flags an invalid target with its problems', () => {
    const broken = result({ rps: [700], meanMs: 2, streamFailures: 1 });
    broken.latency[0] = { ...(broken.latency[0] as (typeof broken.latency)[number]), errors: 4 };
    const text = formatTable(['d-stock-logs'], labels, { 'd-stock-logs': summarise(broken, 50) }, {});
    const rows = text.trim().split('\n');
    expect(rows[2]).toMatch(/^\(d-stock-logs\) gateway -> ai-proxy, stock winston logs INVALID \s*700 /);
    const endOf = (line: string, text: string) => line.indexOf(text) + text.length;
    expect(endOf(rows[0] as string, 'rps@50')).toBe(endOf(rows[2] as string, ' 700 ') - 1);
    expect(rows[2]).toContain('FAIL');
    expect(text).toContain('  (d-stock-logs) latency: 4 failed answers');
    expect(text).toContain('  (d-stock-logs) stream: 1 failed answers (status 200x10 500x1)');
  });

  it('prints the paired ratios of each variant with the 10 % mark, nothing when none ran', () => {
    const even = formatPaired({ d: { ...(pairedRatios('d', d, d) as PairedRatios) } }, labels);
    expect(even.split('\n').find((l) => l.startsWith('(d)'))).toMatch(/ 1\.000 +1\.000$/);
    expect(formatPaired({}, labels)).toBe('');
    const paired = {
      'd-stock-logs': pairedRatios('d', stock, d) as NonNullable<ReturnType<typeof pairedRatios>>,
    };
    const text = formatPaired(paired, labels);
    expect(text).toContain('paired by round');
    const row = text.split('\n').find((l) => l.startsWith('(d-stock-logs)')) as string;
    expect(row.split(/\s{2,}/).map((s) => s.trim())).toEqual([
      '(d-stock-logs) gateway -> ai-proxy, stock winston logs',
      'd',
      '1.286',
      '0.800',
      '>= 10 %',
    ]);
  });

  it('prints the checks as MET or UNMET and the memlog peaks per process', () => {
    const checks = formatChecks([
      { name: 'x', value: 1, limit: '<= 2', met: true },
      { name: 'y', value: '0.5 (rounds 0.4-0.6)', limit: '>= 0.6', met: false },
    ]);
    expect(checks).toBe(
      '\nTarget checks:\n  MET   x: 1 (limit <= 2)\n  UNMET y: 0.5 (rounds 0.4-0.6) (limit >= 0.6)\n',
    );
    const memlog = formatMemlog([
      { name: 'full-gateway', log: 'listening\nMEMLOG rss=80.5 heapUsed=20.0\nMEMLOG rss=90.25 heapUsed=18.0\n' },
      { name: 'upstream', log: 'no samples' },
    ]);
    expect(memlog.trim().split('\n').slice(1)).toEqual([`  ${'full-gateway'.padEnd(24)} rss 90.3  heapUsed 20.0`]);
  });

  it('prints a missing figure as a dash', () => {
    expect([fmt(undefined), fmt(null), fmt(Number.NaN), fmt(1.23456, 3)]).toEqual(['-', '-', '-', '1.235']);
  });
});
