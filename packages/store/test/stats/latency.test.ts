import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_S, latencyBucketIndex, quantileFromBuckets } from '../../src/index';

/** Counts per bucket from `{ index: count }`. */
function counts(entries: Record<number, number>): number[] {
  return LATENCY_BUCKETS_S.map((_, i) => entries[i] ?? 0);
}

describe('latency buckets', () => {
  it('are the HTTP semconv bounds closed by +Inf', () => {
    expect(LATENCY_BUCKETS_S).toEqual([
      0.005,
      0.01,
      0.025,
      0.05,
      0.075,
      0.1,
      0.25,
      0.5,
      0.75,
      1,
      2.5,
      5,
      7.5,
      10,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('counts a latency in the first bucket whose upper bound holds it', () => {
    expect(latencyBucketIndex(0)).toBe(0);
    expect(latencyBucketIndex(0.005)).toBe(0);
    expect(latencyBucketIndex(0.0051)).toBe(1);
    expect(latencyBucketIndex(10)).toBe(13);
    expect(latencyBucketIndex(3600)).toBe(14);
  });
});

describe('quantileFromBuckets', () => {
  it('interpolates linearly inside the bucket the rank falls in', () => {
    // 10 observations in (0.1, 0.25]: the median is halfway through it.
    expect(quantileFromBuckets(counts({ 6: 10 }), 0.5)).toBeCloseTo(0.175, 12);
    // 4 in (0, 0.005], 4 in (0.005, 0.01], 2 in (0.25, 0.5]: p90 is the 9th, halfway into the last.
    expect(quantileFromBuckets(counts({ 0: 4, 1: 4, 7: 2 }), 0.9)).toBeCloseTo(0.375, 12);
  });

  it('interpolates the first bucket from 0', () => {
    expect(quantileFromBuckets(counts({ 0: 10 }), 0.5)).toBeCloseTo(0.0025, 12);
  });

  it('answers the largest finite bound when the rank falls in +Inf', () => {
    expect(quantileFromBuckets(counts({ 0: 1, 14: 9 }), 0.5)).toBe(10);
  });

  it('gives the upper bound of the bucket that completes the rank exactly', () => {
    expect(quantileFromBuckets(counts({ 1: 5, 9: 5 }), 0.5)).toBeCloseTo(0.01, 12);
    expect(quantileFromBuckets(counts({ 1: 5, 9: 5 }), 1)).toBeCloseTo(1, 12);
  });

  it('is 0 with no observations and rejects a quantile outside [0, 1]', () => {
    expect(quantileFromBuckets([], 0.99)).toBe(0);
    expect(quantileFromBuckets(counts({}), 0.5)).toBe(0);
    expect(() => quantileFromBuckets(counts({ 1: 1 }), 1.5)).toThrow(RangeError);
    expect(() => quantileFromBuckets(counts({ 1: 1 }), Number.NaN)).toThrow(RangeError);
  });

  it('takes custom bounds', () => {
    expect(quantileFromBuckets([0, 4], 0.5, [1, 2])).toBeCloseTo(1.5, 12);
  });
});
