/**
 * What `--streams` prints: a table per target (one row each) and the checks against (b), and for
 * `--streams=max` the N tried. Pure: each returns its text.
 */
import { fmt } from '../report/table.ts';
import type { Tried } from './search.ts';
import type { StreamCheck, StreamSummary } from './summary.ts';

const pad = (value: string, width: number, left = false) => (left ? value.padEnd(width) : value.padStart(width));

/** Per-process figures of a row's hops, `+`-joined in chain order. */
function perHop(s: StreamSummary, of: (p: StreamSummary['processes'][string]) => number | null, digits: number) {
  return s.hops.names.map((name) => fmt(of(s.processes[name] as StreamSummary['processes'][string]), digits)).join('+');
}

export const STREAMS_LEGEND =
  'done: streams with status 200 ending in [DONE], of those opened; ttfb: time to first byte (ms); late: chunk\n' +
  'lateness, arrival minus due time from the first byte (ms); +(a): added over (a); cpu: CPU us per chunk relayed;\n' +
  'rss: RSS KB per open stream ((RSS at N open - RSS before) / N); eld: event-loop delay p99 (ms, from /metrics).\n' +
  'cpu, rss and eld are per process, +-joined in chain order (gateway+ai-proxy); (a) shows the upstream.\n';

/** The table: one row per target, in the order given. */
export function formatStreamsTable(
  ids: readonly string[],
  labels: Readonly<Record<string, string>>,
  summaries: Readonly<Record<string, StreamSummary>>,
): string {
  const width = Math.max(28, ...ids.map((id) => `(${id}) ${labels[id] ?? id}`.length));
  const head = [
    pad('target', width, true),
    pad('done', 11),
    pad('ttfb p50', 9),
    pad('p99', 8),
    pad('late p50', 9),
    pad('p99', 7),
    pad('+p99(a)', 8),
    pad('cpu us/chunk', 13),
    pad('rss KB/stream', 14),
    pad('eld p99', 11),
  ].join(' ');
  const lines = [head, '-'.repeat(head.length)];
  const a = summaries.a;
  for (const id of ids) {
    const s = summaries[id] as StreamSummary;
    lines.push(
      [
        pad(`(${id}) ${labels[id] ?? id}`, width, true),
        pad(`${s.completed}/${s.opened}`, 11),
        pad(fmt(s.ttfb_p50_ms, 1), 9),
        pad(fmt(s.ttfb_p99_ms, 1), 8),
        pad(fmt(s.lateness_p50_ms, 1), 9),
        pad(fmt(s.lateness_p99_ms, 1), 7),
        pad(a && id !== 'a' ? fmt(s.lateness_p99_ms - a.lateness_p99_ms, 1) : '-', 8),
        pad(
          perHop(s, (p) => p.cpu_us_per_chunk, 0),
          13,
        ),
        pad(
          perHop(s, (p) => p.rss_kb_per_stream, 0),
          14,
        ),
        pad(id === 'a' || id === 'b' ? '-' : perHop(s, (p) => p.eld_p99_ms, 1), 11),
      ].join(' '),
    );
  }
  const problems = ids.flatMap((id) => {
    const s = summaries[id] as StreamSummary;
    if (s.all_completed) return [];
    const codes = Object.entries(s.status_codes).map(([c, k]) => `${c}x${k}`);
    return [
      `  (${id}) ${s.opened - s.completed} streams incomplete (status ${codes.join(' ')}): ${s.errors.join('; ')}\n`,
    ];
  });
  return `\n${lines.join('\n')}\n\n${STREAMS_LEGEND}${problems.join('')}`;
}

/** The checks, one line each. */
/**
 * Each round's p99 time to first byte per target (with more than one round): the first round runs
 * on processes that have not yet compiled their hot paths nor grown their heaps and pools, so it
 * holds most of a multi-round p99's tail.
 */
export function formatRoundsTtfb(ids: readonly string[], summaries: Readonly<Record<string, StreamSummary>>): string {
  const rows = ids.flatMap((id) => {
    const byRound = summaries[id]?.ttfb_p99_by_round_ms ?? [];
    return byRound.length > 1 ? [`  (${id}) ${byRound.map((v) => fmt(v, 1)).join(', ')}`] : [];
  });
  return rows.length > 0 ? `\nTTFB p99 by round (ms, first round cold):\n${rows.join('\n')}\n` : '';
}

export function formatStreamChecks(checks: readonly StreamCheck[]): string {
  const lines = checks.map((c) => `  ${c.met ? 'MET  ' : 'UNMET'} ${c.name}: ${c.value} (limit ${c.limit})\n`);
  return `\nStream checks:\n${lines.join('')}`;
}

/** `--streams=max`: each N tried, whether it held, and the largest that did. */
export function formatSearch(tried: readonly Tried[], largest: number, cap: number): string {
  const rows = tried.map((t) => `  N=${String(t.n).padStart(5)}  ${t.held ? 'held' : 'did not hold'}\n`);
  return `\nLargest N held (every stream complete, (d) p99 TTFB within 100 ms of (b)'s; N <= ${cap}):\n${rows.join('')}  largest: ${largest}\n`;
}
