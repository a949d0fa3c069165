import { countersOfFields, type UsageCounters } from '@flashcase/store';
import { compareUsage, type Difference } from './compare';
import { compareInvoice, type InvoiceDifference, readInvoice, trailByDayModel } from './invoice';
import type { ReconcileOptions } from './options';
import { TrailRebuild } from './rebuild';
import { type Progress, readFile, readLoki, type SourceEntry } from './sources';
import type { ReconcileStore } from './store';

/** A line that could not be counted: where, and why. */
export interface Malformed {
  line: number;
  reason: string;
}

/** Most malformed lines listed one by one (all are counted). */
const MALFORMED_LISTED = 1000;

/** What one `pnpm reconcile` found (and, with --write, did). */
export interface ReconcileReport {
  source: string;
  from: string | null;
  to: string;
  lines: { read: number; usage: number; other: number; outside_period: number; malformed: number };
  malformed: Malformed[];
  trail: {
    calls: number;
    duplicates: number;
    corrected_orphans: number;
    died_before_counting: number;
    conflicts: number;
    sequence_gaps: Record<string, number>;
    totals: UsageCounters;
    by_model: Record<string, UsageCounters>;
    by_operation: Record<string, UsageCounters>;
    users: number;
  };
  store: { since: string | null; users: number | null };
  /** `match`, `in_flight` (only the period's last seconds differ) or `differ`. */
  status: 'match' | 'in_flight' | 'differ';
  differences: Difference[];
  notes: string[];
  written?: { fields: number; status_after: 'match' | 'in_flight' | 'differ' };
  invoice?: { rows: number; differences: InvoiceDifference[] };
}

function statusOf(differences: readonly Difference[]): ReconcileReport['status'] {
  if (differences.length === 0) return 'match';
  return differences.every((d) => d.inFlight) ? 'in_flight' : 'differ';
}

/**
 * Reads the records of the period, rebuilds the counters, compares them with the store and, with
 * `write`, restores the store from them (then compares again). Malformed lines are counted and
 * listed, never fatal. Throws only when the source or the store cannot be read.
 */
export async function reconcile(
  options: ReconcileOptions,
  store: ReconcileStore,
  onProgress?: Progress,
): Promise<ReconcileReport> {
  const { source, fromMs, toMs, graceMs } = options;
  const entries: AsyncIterable<SourceEntry> =
    source.kind === 'file'
      ? readFile(source.path, onProgress)
      : readLoki({
          url: source.url,
          query: source.query,
          fromMs: fromMs ?? 0,
          toMs,
          orgId: source.orgId,
          pageSize: source.pageSize,
          ...(onProgress ? { onProgress } : {}),
        });
  const rebuild = new TrailRebuild();
  const lines = { read: 0, usage: 0, other: 0, outside_period: 0, malformed: 0 };
  const malformed: Malformed[] = [];
  for await (const { line, parsed } of entries) {
    lines.read++;
    if (parsed.kind === 'other') lines.other++;
    else if (parsed.kind === 'malformed') {
      lines.malformed++;
      if (malformed.length < MALFORMED_LISTED) malformed.push({ line, reason: parsed.reason });
    } else if ((fromMs !== undefined && parsed.record.timeMs < fromMs) || parsed.record.timeMs > toMs) {
      lines.outside_period++;
    } else {
      lines.usage++;
      rebuild.add(parsed.record);
    }
  }
  const full = rebuild.rebuild();
  const settled = rebuild.rebuild(toMs - graceMs);
  const view = await store.view();
  let differences = compareUsage(full.target, settled.target, view);
  const notes: string[] = [];
  if (view.sinceMs !== undefined && fromMs !== undefined && fromMs > view.sinceMs) {
    notes.push(
      `the store counts since ${new Date(view.sinceMs).toISOString()}, before --from: its counters include calls the period leaves out`,
    );
  }
  const stats = rebuild.stats;
  if (stats.diedBeforeCounting > 0) {
    notes.push(
      `${stats.diedBeforeCounting} calls were logged by a replica that died before their counters reached the store: their orphan estimates stand, in the store and here`,
    );
  }
  if (stats.conflicts > 0) notes.push(`${stats.conflicts} calls have two records of their own (the first is counted)`);
  if (stats.sequenceGaps.size > 0) {
    notes.push(
      `sequence gaps (records missing from the trail, or outside the period): ${[...stats.sequenceGaps]
        .map(([replica, n]) => `${replica} ${n}`)
        .join(', ')}`,
    );
  }
  const totals = countersOfFields(full.target.totals);
  const report: ReconcileReport = {
    source: source.kind === 'file' ? source.path : `${source.url} ${source.query}`,
    from: fromMs === undefined ? null : new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    lines,
    malformed,
    trail: {
      calls: full.calls,
      duplicates: stats.duplicates,
      corrected_orphans: stats.correctedOrphans,
      died_before_counting: stats.diedBeforeCounting,
      conflicts: stats.conflicts,
      sequence_gaps: Object.fromEntries(stats.sequenceGaps),
      totals: totals.totals,
      by_model: totals.byModel,
      by_operation: totals.byOperation,
      users: full.target.users.size,
    },
    store: {
      since: view.sinceMs === undefined ? null : new Date(view.sinceMs).toISOString(),
      users: view.users ? view.users.size : null,
    },
    status: statusOf(differences),
    differences,
    notes,
  };

  if (options.write && store.audit && store.last && report.status === 'differ') {
    if (fromMs !== undefined && view.sinceMs !== undefined && fromMs > view.sinceMs) {
      throw new RefusedWrite(
        'refusing to --write: the period starts after the store began counting, so the records cannot stand for all its counters; drop --from or start it at or before the store\'s "since"',
        report,
      );
    }
    const fields = await store.audit.restore(full.target, store.last);
    const after = await store.view();
    differences = compareUsage(full.target, settled.target, after);
    report.written = { fields, status_after: statusOf(differences) };
    report.differences = differences;
    report.status = statusOf(differences);
  } else if (options.write && report.status === 'in_flight') {
    notes.push('nothing written: the only differences are calls of the last seconds, still on their way');
  }

  if (options.invoice) {
    const invoice = readInvoice(options.invoice.path);
    report.invoice = {
      rows: invoice.size,
      differences: compareInvoice(
        invoice,
        trailByDayModel(rebuild.calls(), options.invoice.timeZone),
        options.invoice.toleranceTicks,
      ),
    };
  }
  return report;
}

/** --write refused (the report so far rides along). */
export class RefusedWrite extends Error {
  override readonly name = 'RefusedWrite';
  constructor(
    message: string,
    readonly report: ReconcileReport,
  ) {
    super(message);
  }
}

/** The exit code of a report: 0 match or in flight, 1 a difference (store or invoice). */
export function exitCodeOf(report: ReconcileReport): number {
  if (report.status === 'differ') return 1;
  if (report.invoice && report.invoice.differences.length > 0) return 1;
  return 0;
}
