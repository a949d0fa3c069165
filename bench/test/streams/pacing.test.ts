import { describe, expect, it } from 'vitest';
import { median, quantile } from '../../src/stats.ts';
import { completed, lateness, type Pacing, type StreamRecord, scheduledMs } from '../../src/streams/pacing.ts';

const pacing: Pacing = { chunks: 3, intervalMs: 100 };
const record = (eventsMs: number[], extra: Partial<StreamRecord> = {}): StreamRecord => ({
  status: 200,
  done: true,
  ttfbMs: eventsMs[0] ?? Number.NaN,
  eventsMs,
  ...extra,
});

describe('stream pacing and lateness', () => {
  it('dues event k at k intervals after the first byte, and the ending one interval after the last chunk', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((k) => scheduledMs(k, pacing))).toEqual([0, 100, 200, 300, 400, 400, 400]);
  });

  it('measures each event after the first against its due time from the stream first byte', () => {
    // First byte at 50 ms; role at 50, chunks at 150 (on time), 262 (12 late), 350, ending (3 events) at 455.
    const r = record([50, 150, 262, 350, 455, 455, 455]);
    expect(lateness(r, pacing)).toEqual([0, 12, 0, 5, 5, 5]);
  });

  it('has no lateness for a stream that never sent a byte', () => {
    expect(lateness(record([], { status: 0, done: false, ttfbMs: Number.NaN }), pacing)).toEqual([]);
  });

  it('counts as completed only a 200 that ended with [DONE] and no error', () => {
    expect(completed(record([1, 2]))).toBe(true);
    expect(completed(record([1, 2], { done: false }))).toBe(false);
    expect(completed(record([1], { status: 503 }))).toBe(false);
    expect(completed(record([1, 2], { error: 'socket hang up' }))).toBe(false);
  });
});

describe('percentiles', () => {
  it('takes the nearest rank: p50 and p99 of 1..100 are 50 and 99, of one value that value', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
