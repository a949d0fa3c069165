import { describe, expect, it } from 'vitest';
import { chainCpuByRound, pairedRatios, pairedVariants } from '../../src/report/paired.ts';
import { result } from './fixtures.ts';

const d = result({
  rps: [1000, 500, 800],
  meanMs: 1,
  cpu: { 'full-gateway': [0.2, 0.4, 0.25], 'full-ai-proxy': [0.3, 0.6, 0.35], upstream: [0.1, 0.1, 0.1] },
});

describe('variants paired with their plain target', () => {
  it("sums the chain's CPU per request in each round without the upstream", () => {
    expect(chainCpuByRound(d)).toEqual([0.5, 1, 0.6]);
  });

  it('takes the ratios per round, so a slow round for both cancels, and their median', () => {
    const stock = result({
      rps: [900, 450, 640],
      meanMs: 1,
      cpu: { 'x-gateway': [0.3, 0.6, 0.3], 'x-ai-proxy': [0.3, 0.6, 0.4], upstream: [0.5, 0.5, 0.5] },
    });
    const p = pairedRatios('d', stock, d);
    expect(p).toEqual({
      against: 'd',
      cpu_ratio: 1.2,
      throughput_ratio: 0.9,
      rounds_cpu_ratio: [1.2, 1.2, 1.167],
      rounds_throughput_ratio: [0.9, 0.9, 0.8],
      costs_10_percent: true,
    });
  });

  it('says a variant within 10 % on both costs less than the rule asks', () => {
    const close = result({ rps: [950, 480, 790], meanMs: 1, cpu: { g: [0.52, 1.05, 0.6] } });
    expect(pairedRatios('d', close, d)?.costs_10_percent).toBe(false);
  });

  it('pairs every c/d variant and baseline with its letter, when that ran too', () => {
    const results = { a: d, c: d, d, 'd-stock-http': d, 'd@unpatched': d, 'c-otel-off': d, 'e-x': d, 'd-sampled': d };
    const letters: Record<string, string> = { 'd-stock-http': 'd', 'd@unpatched': 'd', 'c-otel-off': 'c', 'e-x': 'e' };
    const paired = pairedVariants(Object.keys(results), results, (id) => letters[id] ?? id[0] ?? id);
    expect(Object.keys(paired)).toEqual(['d-stock-http', 'd@unpatched', 'c-otel-off', 'd-sampled']);
    expect(paired['c-otel-off']?.against).toBe('c');
    expect(pairedVariants(['d-stock-http'], { 'd-stock-http': d }, () => 'd')).toEqual({});
  });
});
