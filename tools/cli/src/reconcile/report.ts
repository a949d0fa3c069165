import type { UsageCounters } from '@flashcase/store';
import { int, type Style, usd } from '../terminal/style';
import { TICKS_PER_USD } from './invoice';
import type { ReconcileReport } from './run';

/** Most difference rows printed (all are in --json). */
const ROWS = 40;

/** Left-aligned first column, right-aligned numbers: a plain text table. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function amount(counter: string, n: number): string {
  return counter.endsWith('usd_ticks') ? `${usd(n / TICKS_PER_USD)} (${int(n)})` : int(n);
}

function countersRow(name: string, c: UsageCounters): string[] {
  return [
    name,
    int(c.requests),
    int(c.promptTokens),
    int(c.completionTokens),
    int(c.totalTokens),
    usd(c.costTicks / TICKS_PER_USD),
  ];
}

/** The report as the tables a person reads. */
export function renderReport(report: ReconcileReport, s: Style): string {
  const out: string[] = [];
  const { lines, trail } = report;
  out.push(
    s.bold(`reconcile ${report.source}`),
    `period: ${report.from ?? 'the whole trail'} .. ${report.to}`,
    `lines: ${int(lines.read)} read, ${int(lines.usage)} usage records, ${int(lines.other)} other, ` +
      `${int(lines.outside_period)} outside the period, ${int(lines.malformed)} malformed`,
    `calls: ${int(trail.calls)} (${int(trail.duplicates)} duplicate records dropped, ` +
      `${int(trail.corrected_orphans)} orphan estimates replaced by their late record, ${int(trail.users)} users)`,
    '',
  );
  if (report.malformed.length > 0) {
    out.push(s.yellow(`malformed lines (${int(lines.malformed)}):`));
    for (const m of report.malformed.slice(0, ROWS)) out.push(`  line ${m.line}: ${m.reason}`);
    if (lines.malformed > ROWS) out.push(`  ... ${int(lines.malformed - ROWS)} more (--json lists up to 1000)`);
    out.push('');
  }
  const head = ['rebuilt from the trail', 'requests', 'prompt', 'completion', 'total', 'cost'];
  const rows = [
    countersRow('total', trail.totals),
    ...Object.entries(trail.by_model).map(([name, c]) => countersRow(`model ${name}`, c)),
    ...Object.entries(trail.by_operation).map(([name, c]) => countersRow(`operation ${name}`, c)),
  ];
  out.push(...table(head, rows), '');
  if (report.differences.length === 0) {
    out.push(s.green('the store matches the trail'));
  } else {
    const rowsOf = report.differences
      .slice(0, ROWS)
      .map((d) => [
        d.scope,
        d.counter,
        amount(d.counter, d.trail),
        amount(d.counter, d.store),
        `${d.store - d.trail > 0 ? '+' : ''}${int(d.store - d.trail)}`,
        d.inFlight ? 'in flight' : 'DIFFERS',
      ]);
    out.push(...table(['scope', 'counter', 'trail', 'store', 'store - trail', ''], rowsOf));
    if (report.differences.length > ROWS)
      out.push(`... ${int(report.differences.length - ROWS)} more (--json for all)`);
    out.push(
      report.status === 'in_flight'
        ? s.yellow('the store differs only by calls of the last seconds, still on their way')
        : s.red(
            `the store differs from the trail in ${int(report.differences.filter((d) => !d.inFlight).length)} counters`,
          ),
    );
  }
  if (report.written) {
    out.push(
      report.written.status_after === 'differ'
        ? s.red(`wrote ${int(report.written.fields)} fields, and the store still differs (calls counted meanwhile?)`)
        : s.green(`wrote ${int(report.written.fields)} fields: the store now holds what the trail says`),
    );
  }
  for (const note of report.notes) out.push(s.dim(`note: ${note}`));
  if (report.invoice) {
    out.push('');
    if (report.invoice.differences.length === 0) {
      out.push(s.green(`the invoice (${int(report.invoice.rows)} day and model rows) matches the trail`));
    } else {
      out.push(
        ...table(
          ['day', 'model', 'invoice tokens', 'trail tokens', 'invoice cost', 'trail cost'],
          report.invoice.differences.map((d) => [
            d.day,
            d.model,
            int(d.invoiceTokens),
            int(d.trailTokens),
            usd(d.invoiceCostTicks / TICKS_PER_USD),
            usd(d.trailCostTicks / TICKS_PER_USD),
          ]),
        ),
        s.red(`the invoice differs from the trail on ${int(report.invoice.differences.length)} day and model rows`),
      );
    }
  }
  return out.join('\n');
}
