import { describe, expect, it } from 'vitest';
import { pairedThroughput, targetChecks } from '../../src/report/checks.ts';
import { type Summary, summarise } from '../../src/report/summary.ts';
import { result } from './fixtures.ts';

const summary = (rps: number[], meanMs: number, ttfbMs = meanMs): Summary =>
  summarise(result({ rps, meanMs, ttfbMs }), 50);

describe('target checks', () => {
  it('pairs throughput by round: drift that hits both targets cancels out', () => {
    const x = summary([500, 1000, 300], 1);
    const y = summary([1000, 2000, 600], 1);
    expect(pairedThroughput(x, y)).toEqual({ median: 0.5, text: '0.5 (rounds 0.5-0.5)' });
    expect(pairedThroughput(summary([500], 1), summary([1000], 1)).text).toBe('0.5');
  });

  it('holds (c) and (d) to their limits against (a) and (b)', () => {
    const checks = targetChecks(
      {
        a: summary([10_000, 10_000], 0.2),
        b: summary([5_000, 5_000], 0.4),
        c: summary([3_500, 3_500], 0.9),
        d: summary([1_000, 1_000], 2.5, 1),
      },
      {},
      {},
    );
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['(c) throughput vs (b) at 50 connections, median of the rounds paired']).toMatchObject({
      value: '0.7 (rounds 0.7-0.7)',
      met: true,
    });
    expect(byName['(c) added mean latency vs (a), 1 connection (ms)']).toMatchObject({ value: 0.7, met: true });
    expect(byName['(d) throughput vs (b) at 50 connections, median of the rounds paired']).toMatchObject({
      met: false,
    });
    expect(byName['(d) added mean latency vs (a), 1 connection (ms)']).toMatchObject({ value: 2.3, met: false });
    expect(byName['(d) streaming time to first byte vs (a), 1 connection (ms)']).toMatchObject({
      value: 0.8,
      met: true,
    });
    expect(checks.some((c) => c.name.includes('beats (e)'))).toBe(false);
  });

  it('says whether (d) beats (e) in how many rounds', () => {
    const checks = targetChecks({ d: summary([1100, 900, 1200], 1), e: summary([1000, 1000, 1000], 1.2) }, {}, {});
    expect(checks[0]).toMatchObject({ value: '1.1 (rounds 0.9-1.2), d ahead in 2 of 3', met: true });
    expect(checks[1]).toMatchObject({ name: '(d) beats (e): mean latency d - e (ms)', met: true });
  });

  it('checks peak RSS and its growth over the rounds of our services only', () => {
    const checks = targetChecks(
      {},
      { 'full-gateway': 120, 'full-ai-proxy': 230, portkey: 400, upstream: 60 },
      { 'full-gateway': [100, 104, 130] },
    );
    expect(checks.map((c) => [c.name.split(' (')[0], c.met])).toEqual([
      ['full-gateway peak RSS', true],
      ['full-gateway RSS growth, first to last round', false],
      ['full-ai-proxy peak RSS', false],
    ]);
  });
});
