/**
 * `--soak=N`: one (d) chain at N connections for N seconds in 10 s slices; after each, every
 * service's RSS; a third in and at the end, what its heap holds after a full collection (forced
 * through its inspector: what a leak grows, whatever V8's sizing does to RSS).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inspectorUrl, liveHeap } from '@flashcase/testkit';
import { runJson } from '../load.ts';
import { memoryMb } from '../processes.ts';
import { round } from '../stats.ts';
import type { RunningTarget } from '../targets/table.ts';
import { tenth } from './rounds.ts';

export interface SoakOptions {
  seconds: number;
  connections: number;
  /** The target's label, for the report. */
  label: string;
  out: string;
}

/** Runs the soak on `target` (whose services run with `--inspect`) and writes its report to `out`. */
export async function soak(target: RunningTarget, options: SoakOptions): Promise<void> {
  const { seconds, connections } = options;
  const slices = Math.max(1, Math.round(seconds / 10));
  // The chain without the upstream: gateway and ai-proxy.
  const services = target.chain.slice(0, -1);
  const urls = services.map((c) => inspectorUrl(readFileSync(c.logFile, 'utf8')));
  if (!urls.every(Boolean)) throw new Error('soak: a service printed no inspector address');
  const warmSlice = Math.min(slices - 1, Math.ceil(slices / 3) - 1);
  const timeline: Array<Record<string, number>> = [];
  let bad = 0;
  let total = 0;
  for (let i = 0; i < slices; i++) {
    const run = await runJson(target.endpoint, connections, 10);
    bad += run.non2xx + run.errors + run.timeouts + run.mismatches;
    total += run.requests;
    const row: Record<string, number> = { t_s: (i + 1) * 10, rps: round(run.rps, 0) };
    for (const child of services) row[`${child.name}_rss_mb`] = tenth(memoryMb(child.pid).rss);
    // Twice only, a third in and at the end: a forced full GC also shrinks the heap, and RSS with
    // it for a while, which would hide what the slices in between show.
    if (i === warmSlice || i === slices - 1) {
      for (const [s, child] of services.entries()) {
        const heap = await liveHeap(urls[s] as string);
        row[`${child.name}_live_heap_mb`] = round(heap.usedMb, 1);
        row[`${child.name}_live_buffers_mb`] = round(heap.backingMb, 1);
      }
    }
    timeline.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  // RSS from the second slice on (the first holds start-up: JIT, pools, connections filling); the
  // live heap from a third in.
  const last = timeline[timeline.length - 1];
  const growth = (suffix: string, from: Record<string, number> | undefined) =>
    Object.fromEntries(
      Object.keys(last ?? {})
        .filter((k) => k.endsWith(suffix))
        .map((k) => [k, round((last?.[k] ?? 0) - (from?.[k] ?? 0), 1)]),
    );
  const first = timeline[1] ?? timeline[0];
  const warm = timeline[warmSlice];
  const report = {
    generated_at: new Date().toISOString(),
    target: options.label,
    seconds: slices * 10,
    connections,
    requests: total,
    failed: bad,
    timeline,
    peak_rss_mb: Object.fromEntries(services.map((c) => [c.name, tenth(c.peakRssMb)])),
    growth_mb: {
      ...growth('_rss_mb', first),
      ...growth('_live_heap_mb', warm),
      ...growth('_live_buffers_mb', warm),
    },
  };
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`growth: ${JSON.stringify(report.growth_mb)}\nwrote ${options.out}\n`);
}
