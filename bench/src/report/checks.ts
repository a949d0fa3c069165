/**
 * The target checks printed under the table as MET or UNMET (CONTRACT.md section 9's goals). A
 * benchmark, not a test: nothing fails on them. Pure: summaries and memory figures in, checks out.
 */
import { median, round } from '../stats.ts';
import type { Summary } from './summary.ts';

/** One check: its value as printed, the limit it is held to, and whether it holds. */
export interface Check {
  name: string;
  value: number | string;
  limit: string;
  met: boolean;
}

/**
 * `x`'s throughput over `y`'s, paired by round: the two ran in the same round, minutes apart at
 * most, so their ratio per round cancels the machine's drift between rounds, which on a shared
 * machine can be larger than the difference measured.
 */
export function pairedThroughput(x: Summary, y: Summary): { median: number; text: string } {
  const ratios = x.throughput.rounds_rps
    .map((rps, i) => rps / (y.throughput.rounds_rps[i] ?? Number.NaN))
    .filter((r) => Number.isFinite(r));
  const value = round(median(ratios), 3);
  if (ratios.length < 2) return { median: value, text: String(value) };
  return { median: value, text: `${value} (rounds ${round(Math.min(...ratios), 3)}-${round(Math.max(...ratios), 3)})` };
}

/** The checks that apply to the targets that ran (each needs both of its targets), and RSS per service. */
export function targetChecks(
  s: Record<string, Summary>,
  peakRss: Record<string, number>,
  rssByRound: Record<string, number[]>,
): Check[] {
  const checks: Check[] = [];
  const { a, b, c, d, e } = s;
  if (c && b) {
    const ratio = pairedThroughput(c, b);
    checks.push({
      name: '(c) throughput vs (b) at 50 connections, median of the rounds paired',
      value: ratio.text,
      limit: '>= 0.60',
      met: c.valid && ratio.median >= 0.6,
    });
  }
  if (c && a) {
    const added = round(c.latency.mean_ms - a.latency.mean_ms, 3);
    checks.push({
      name: '(c) added mean latency vs (a), 1 connection (ms)',
      value: added,
      limit: '<= 1.0',
      met: c.valid && added <= 1.0,
    });
  }
  if (d && b) {
    const ratio = pairedThroughput(d, b);
    checks.push({
      name: '(d) throughput vs (b) at 50 connections, median of the rounds paired',
      value: ratio.text,
      limit: '>= 0.30',
      met: d.valid && ratio.median >= 0.3,
    });
  }
  if (d && a) {
    const added = round(d.latency.mean_ms - a.latency.mean_ms, 3);
    checks.push({
      name: '(d) added mean latency vs (a), 1 connection (ms)',
      value: added,
      limit: '<= 2.0',
      met: d.valid && added <= 2.0,
    });
    checks.push({
      name: '(d) p99 latency, 1 connection (ms)',
      value: d.latency.p99_ms,
      limit: '<= 5.0',
      met: d.valid && d.latency.p99_ms <= 5,
    });
    const ttfb = round(d.stream.ttfb_mean_ms - a.stream.ttfb_mean_ms, 3);
    checks.push({
      name: '(d) streaming time to first byte vs (a), 1 connection (ms)',
      value: ttfb,
      limit: '<= 2.0',
      met: d.stream_valid && a.stream_valid && ttfb <= 2,
    });
  }
  if (d && e) {
    const ratio = pairedThroughput(d, e);
    const ahead = d.throughput.rounds_rps.filter(
      (rps, i) => rps > (e.throughput.rounds_rps[i] ?? Number.POSITIVE_INFINITY),
    ).length;
    checks.push({
      name: '(d) beats (e): throughput ratio d/e, median of the rounds paired',
      value: `${ratio.text}, d ahead in ${ahead} of ${d.throughput.rounds_rps.length}`,
      limit: '> 1',
      met: d.valid && ratio.median > 1,
    });
    checks.push({
      name: '(d) beats (e): mean latency d - e (ms)',
      value: round(d.latency.mean_ms - e.latency.mean_ms, 3),
      limit: '< 0',
      met: d.valid && d.latency.mean_ms < e.latency.mean_ms,
    });
  }
  for (const [name, mb] of Object.entries(peakRss)) {
    if (!/ai-proxy|gateway$/.test(name) || name === 'portkey') continue;
    checks.push({ name: `${name} peak RSS (MB)`, value: mb, limit: '<= 200', met: mb <= 200 });
    const rounds = rssByRound[name] ?? [];
    if (rounds.length >= 2) {
      const growth = round((rounds[rounds.length - 1] as number) - (rounds[0] as number), 1);
      checks.push({
        // NOTE: rounds mix loads (50 connections, 1, streams) and V8 sizes its heap to each:
        // this reads heap sizing as growth. `--soak=120` (one load, 10 s slices) is the leak test.
        name: `${name} RSS growth, first to last round (MB; heap sizing too, --soak is the leak test)`,
        value: growth,
        limit: '<= 10',
        met: growth <= 10,
      });
    }
  }
  return checks;
}
