import { describe, expect, it } from 'vitest';
import { bracket, DEFAULT_SEARCH, nextStreams, type Tried } from '../../src/streams/search.ts';

/** Runs the search against a machine that holds up to `limit` streams; returns every N tried. */
function search(limit: number, bounds = DEFAULT_SEARCH): number[] {
  const tried: Tried[] = [];
  for (let n = nextStreams(tried, bounds); n !== undefined; n = nextStreams(tried, bounds)) {
    tried.push({ n, held: n <= limit });
  }
  return tried.map((t) => t.n);
}

describe('largest-N search', () => {
  it('starts at 250 and doubles while every run holds, up to the cap of 4000', () => {
    expect(search(10_000)).toEqual([250, 500, 1000, 2000, 4000]);
  });

  it('bisects between the largest N held and the smallest that failed, within 6 runs', () => {
    const tried = search(1300);
    expect(tried).toEqual([250, 500, 1000, 2000, 1500, 1250]);
    expect(tried.length).toBeLessThanOrEqual(DEFAULT_SEARCH.maxRuns);
  });

  it('stops once the bracket is within 10 % of the N held', () => {
    const bounds = { ...DEFAULT_SEARCH, maxRuns: 20 };
    const tried: Tried[] = [
      { n: 1000, held: true },
      { n: 1090, held: false },
    ];
    expect(nextStreams(tried, bounds)).toBeUndefined();
    expect(
      nextStreams(
        [
          { n: 1000, held: true },
          { n: 2000, held: false },
        ],
        bounds,
      ),
    ).toBe(1500);
  });

  it('goes below the start when even the start fails, and reports 0 held then', () => {
    const tried = search(100);
    expect(tried.slice(0, 3)).toEqual([250, 130, 65]);
    expect(bracket(tried.map((n) => ({ n, held: n <= 100 }))).held).toBeGreaterThanOrEqual(65);
    expect(bracket([{ n: 250, held: false }])).toEqual({ held: 0, failed: 250 });
  });

  it('never passes a lower cap (what the open-files limit allows)', () => {
    expect(search(10_000, { ...DEFAULT_SEARCH, max: 1800 })).toEqual([250, 500, 1000, 1800]);
    expect(nextStreams([], { ...DEFAULT_SEARCH, max: 100 })).toBe(100);
  });
});
