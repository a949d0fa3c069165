import { spawnSync } from 'node:child_process';
import { fullGcs, liveHeapTrend } from '@flashcase/testkit';
import { describe, expect, it } from 'vitest';

/** Runs `body` in a real node with `--trace-gc`, forcing a full collection after each of 12 steps. */
function traceOf(body: string): string {
  const script = `const kept = []; for (let i = 0; i < 12; i++) { ${body}; globalThis.gc(); }`;
  const run = spawnSync(process.execPath, ['--trace-gc', '--expose-gc', '-e', script], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  return run.stdout;
}

describe('the live heap read from --trace-gc (the soak leak check)', () => {
  it('sees a process that keeps 4 MB per step growing', () => {
    const gcs = fullGcs(traceOf('kept.push(new Array(512 * 1024).fill(i))'));
    expect(gcs.length).toBeGreaterThanOrEqual(12);
    const trend = liveHeapTrend(gcs, 0);
    // 12 steps of 4 MB: the last third holds about 32 MB more than the first.
    expect(trend.lastThirdMb - trend.firstThirdMb).toBeGreaterThan(20);
    expect(trend.slopeMbPerMin).toBeGreaterThan(0);
  });

  it('sees a process that allocates as much but keeps nothing as flat', () => {
    const gcs = fullGcs(traceOf('new Array(512 * 1024).fill(i)'));
    expect(gcs.length).toBeGreaterThanOrEqual(12);
    const trend = liveHeapTrend(gcs, 0);
    expect(Math.abs(trend.lastThirdMb - trend.firstThirdMb)).toBeLessThan(2);
  });

  it('leaves out the start-up and ignores scavenges', () => {
    const text = [
      '[1:0x1]     1200 ms: Mark-Compact 30.1 (40.0) -> 12.0 (38.0) MB, pooled: 0 MB, 5.1 / 0.0 ms',
      '[1:0x1]    25000 ms: Scavenge 90.0 (120.0) -> 40.0 (120.0) MB, pooled: 0 MB, 3.0 / 0.0 ms',
      '[1:0x1]    30000 ms: Mark-Compact 80.0 (160.0) -> 31.5 (150.0) MB, pooled: 60 MB, 9.0 / 0.0 ms',
      '[1:0x1]    90000 ms: Mark-Compact (reduce) 70.0 (150.0) -> 33.5 (120.0) MB, pooled: 0 MB, 9.0 / 0.0 ms',
    ].join('\n');
    const gcs = fullGcs(text);
    expect(gcs).toEqual([
      { t: 1.2, liveMb: 12 },
      { t: 30, liveMb: 31.5 },
      { t: 90, liveMb: 33.5 },
    ]);
    const trend = liveHeapTrend(gcs);
    expect(trend).toMatchObject({ fullGcs: 2, firstThirdMb: 31.5, lastThirdMb: 33.5 });
    expect(trend.slopeMbPerMin).toBeCloseTo(2, 5);
  });
});
