/**
 * What the bench prints: the table of targets, the paired ratios of variants, the target checks
 * and the `--memlog` peaks. Pure: each returns its text.
 */
import type { Check } from './checks.ts';
import type { PairedRatios } from './paired.ts';
import { compare, type Summary } from './summary.ts';

const pad = (value: string, width: number, left = false) => (left ? value.padEnd(width) : value.padStart(width));

/** A figure for the table: `-` for a missing or NaN value. */
export function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

/** A row's first column: `(id) label`, at least 40 wide and as wide as the longest. */
function firstColumn(ids: readonly string[], labels: Readonly<Record<string, string>>) {
  const text = (id: string, suffix = '') => `(${id}) ${labels[id] ?? id}${suffix}`;
  const width = Math.max(40, ...ids.map((id) => text(id, ' INVALID').length));
  return { text, width };
}

export const TABLE_LEGEND =
  'rps@50: requests/s at 50 connections (median of rounds); x(a)/x(b): that against (a)/(b); mean@1: 1000/rps at\n' +
  '1 connection (ms); +ms: added mean latency; p99@1: p99 at 1 connection; ttfb: streaming time to first byte\n' +
  'at 1 connection (mean ms); cpu/req: CPU ms per request summed over the chain (upstream included); rss: peak MB.\n';

/** The table of targets, its legend and each target's problems. */
export function formatTable(
  ids: readonly string[],
  labels: Readonly<Record<string, string>>,
  summaries: Readonly<Record<string, Summary>>,
  rss: Readonly<Record<string, number>>,
): string {
  const { a, b } = summaries;
  const first = firstColumn(ids, labels);
  const head = [
    pad('target', first.width, true),
    pad('rps@50', 8),
    pad('x(a)', 6),
    pad('x(b)', 6),
    pad('mean@1', 8),
    pad('+ms(a)', 7),
    pad('+ms(b)', 7),
    pad('p99@1', 7),
    pad('ttfb', 7),
    pad('+ttfb(a)', 9),
    pad('cpu/req', 8),
    pad('rss MB', 7),
  ].join(' ');
  const lines = [head, '-'.repeat(head.length)];
  for (const id of ids) {
    const s = summaries[id] as Summary;
    const vsA = a ? compare(s, a) : undefined;
    const vsB = b ? compare(s, b) : undefined;
    const cpu = Object.values(s.cpu_ms_per_request).reduce((n, v) => n + v, 0);
    const rssMb = Object.entries(rss)
      .filter(([name]) => s.cpu_ms_per_request[name] !== undefined && name !== 'upstream')
      .map(([, mb]) => Math.round(mb))
      .join('+');
    lines.push(
      [
        pad(first.text(id, s.valid ? '' : ' INVALID'), first.width, true),
        pad(fmt(s.throughput.rps, 0), 8),
        pad(fmt(vsA?.throughput_ratio), 6),
        pad(fmt(vsB?.throughput_ratio), 6),
        pad(fmt(s.latency.mean_ms, 3), 8),
        pad(fmt(vsA?.added_mean_ms, 3), 7),
        pad(fmt(vsB?.added_mean_ms, 3), 7),
        pad(fmt(s.latency.p99_ms, 2), 7),
        pad(s.stream_valid ? fmt(s.stream.ttfb_mean_ms, 3) : 'FAIL', 7),
        pad(fmt(vsA?.added_ttfb_ms, 3), 9),
        pad(fmt(cpu, 3), 8),
        pad(rssMb || '-', 7),
      ].join(' '),
    );
  }
  const problems = ids.flatMap((id) => (summaries[id] as Summary).problems.map((p) => `  (${id}) ${p}\n`));
  return `\n${lines.join('\n')}\n\n${TABLE_LEGEND}${problems.join('')}`;
}

const range = (values: number[]) =>
  values.length < 2 ? '' : ` (${fmt(Math.min(...values), 3)}-${fmt(Math.max(...values), 3)})`;

/** The paired ratios of each variant against its plain target; empty when none ran with theirs. */
export function formatPaired(paired: Readonly<Record<string, PairedRatios>>, labels: Readonly<Record<string, string>>) {
  const ids = Object.keys(paired);
  if (ids.length === 0) return '';
  const first = firstColumn(ids, labels);
  const head = [pad('variant', first.width, true), pad('vs', 4), pad('cpu/req ratio', 24), pad('rps@50 ratio', 24)];
  const lines = [head.join(' '), '-'.repeat(head.join(' ').length)];
  for (const id of ids) {
    const p = paired[id] as PairedRatios;
    lines.push(
      [
        pad(first.text(id), first.width, true),
        pad(p.against, 4),
        pad(`${fmt(p.cpu_ratio, 3)}${range(p.rounds_cpu_ratio)}`, 24),
        pad(`${fmt(p.throughput_ratio, 3)}${range(p.rounds_throughput_ratio)}`, 24),
        p.costs_10_percent ? ' >= 10 %' : '',
      ]
        .join(' ')
        .trimEnd(),
    );
  }
  return (
    `\nVariants against their plain target, paired by round (median, and the range over rounds):\n${lines.join('\n')}\n` +
    'cpu/req ratio: CPU ms per request of the chain (gateway + ai-proxy, upstream excluded), variant / plain;\n' +
    'rps@50 ratio: throughput at 50 connections, variant / plain. ">= 10 %": the variant costs at least 10 % more\n' +
    'CPU per request or at least 10 % of the throughput.\n'
  );
}

/** The target checks, one line each. */
export function formatChecks(checks: readonly Check[]): string {
  const lines = checks.map((c) => `  ${c.met ? 'MET  ' : 'UNMET'} ${c.name}: ${c.value} (limit ${c.limit})\n`);
  return `\nTarget checks:\n${lines.join('')}`;
}

/** `--memlog`: the peak of each field memlog.ts printed (`MEMLOG k=v ...` lines), per process. */
export function formatMemlog(logs: ReadonlyArray<{ name: string; log: string }>): string {
  const rows: string[] = [];
  for (const { name, log } of logs) {
    const peak: Record<string, number> = {};
    for (const m of log.matchAll(/^MEMLOG (.*)$/gm)) {
      for (const [key, value] of (m[1] as string).split(' ').map((kv) => kv.split('='))) {
        peak[key as string] = Math.max(peak[key as string] ?? 0, Number(value));
      }
    }
    const fields = Object.entries(peak).map(([k, v]) => `${k} ${v.toFixed(1)}`);
    if (fields.length > 0) rows.push(`  ${name.padEnd(24)} ${fields.join('  ')}\n`);
  }
  return `\nmemory (peak MB of 2 s samples; arrayBuffers: Buffer bytes outside the V8 heap):\n${rows.join('')}`;
}
