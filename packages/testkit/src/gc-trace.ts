/**
 * The heap that survives full collections, read from a process's `--trace-gc` output: what a leak
 * grows. A process's RSS also moves with V8 sizing its generations (one-time steps as it first
 * grows the old generation, pages pooled for reuse), which is not a leak.
 *
 * V8 prints each mark-compact as `[pid:isolate]   <ms> ms: Mark-Compact <before> (<committed>) ->
 * <after> (<committed>) MB, ...`; `after` is what survived, young generation included, and `<ms>`
 * counts from the isolate's start.
 */
export interface FullGc {
  /** Seconds since the process started. */
  t: number;
  /** Heap in use after the collection, MB. */
  liveMb: number;
}

const MARK_COMPACT = /\s(\d+(?:\.\d+)?) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/g;

export function fullGcs(traceOutput: string): FullGc[] {
  const out: FullGc[] = [];
  for (const m of traceOutput.matchAll(MARK_COMPACT)) out.push({ t: Number(m[1]) / 1000, liveMb: Number(m[2]) });
  return out;
}

export interface LiveHeapTrend {
  /** Full collections counted (those after `fromS`). */
  fullGcs: number;
  /** Mean live heap over the first and the last third of them, MB. */
  firstThirdMb: number;
  lastThirdMb: number;
  /** Least-squares slope of live heap over time, MB per minute. */
  slopeMbPerMin: number;
}

/** The live heap's trend over the collections after `fromS` seconds (start-up left out). */
export function liveHeapTrend(gcs: readonly FullGc[], fromS = 20): LiveHeapTrend {
  const points = gcs.filter((g) => g.t >= fromS);
  const n = points.length;
  if (n === 0) return { fullGcs: 0, firstThirdMb: 0, lastThirdMb: 0, slopeMbPerMin: 0 };
  const third = Math.max(1, Math.floor(n / 3));
  const mean = (xs: readonly FullGc[]) => xs.reduce((s, g) => s + g.liveMb, 0) / xs.length;
  const tMean = points.reduce((s, g) => s + g.t, 0) / n;
  const mbMean = mean(points);
  let num = 0;
  let den = 0;
  for (const g of points) {
    num += (g.t - tMean) * (g.liveMb - mbMean);
    den += (g.t - tMean) ** 2;
  }
  return {
    fullGcs: n,
    firstThirdMb: mean(points.slice(0, third)),
    lastThirdMb: mean(points.slice(-third)),
    slopeMbPerMin: den > 0 ? (num / den) * 60 : 0,
  };
}
