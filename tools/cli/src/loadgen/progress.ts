import { bar, int } from '../terminal/style';
import { quantileMs, type Tally } from './run';

/** One progress line: bar, time, counts, in flight, median latency of the answered requests. */
export function progressLine(tally: Tally, elapsedMs: number, durationS: number, width = 24): string {
  const elapsedS = Math.min(durationS, elapsedMs / 1000);
  const p50 = quantileMs(tally.latenciesMs, 0.5);
  return [
    `loadgen [${bar(elapsedS / durationS, width)}] ${Math.floor(elapsedS)}/${durationS}s`,
    `sent ${int(tally.sent)}`,
    `ok ${int(tally.ok)}`,
    `429 ${int(tally.limited)}`,
    `aborted ${int(tally.aborted)}`,
    `failed ${int(tally.failed + tally.unreachable)}`,
    `in flight ${tally.inFlight}`,
    p50 === undefined ? 'p50 -' : `p50 ${Math.round(p50)}ms`,
  ].join('  ');
}

/** The closing summary, several lines. */
export function summary(tally: Tally, elapsedMs: number, url: string): string {
  const seconds = elapsedMs / 1000;
  const p50 = quantileMs(tally.latenciesMs, 0.5);
  const p95 = quantileMs(tally.latenciesMs, 0.95);
  const operations = Object.entries(tally.byOperation)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${int(n)}`)
    .join(' · ');
  const others = Object.entries(tally.statuses)
    .filter(([status]) => !status.startsWith('2') && status !== '429')
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
  return [
    `loadgen: ${int(tally.sent)} requests in ${seconds.toFixed(1)}s (${(tally.sent / Math.max(seconds, 0.001)).toFixed(1)}/s): ` +
      `${int(tally.ok)} ok · ${int(tally.limited)} rate-limited (429) · ${int(tally.aborted)} streams closed early · ` +
      `${int(tally.failed)} failed${others ? ` (${others})` : ''} · ${int(tally.unreachable)} unanswered`,
    `latency of answered requests: p50 ${p50 === undefined ? '-' : `${Math.round(p50)}ms`} · p95 ${p95 === undefined ? '-' : `${Math.round(p95)}ms`}` +
      (tally.skipped > 0 ? ` · ${int(tally.skipped)} ticks skipped at the concurrency cap` : ''),
    `by operation: ${operations || 'none'}`,
    `watch it: ${url}/dashboard (admin token: pnpm run token --user ops --role admin) or pnpm monitor`,
  ].join('\n');
}
