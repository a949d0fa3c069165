/**
 * After the rounds: every target summed up, the variants paired with their plain targets, the
 * checks, results.json written and the table printed.
 */
import { writeFileSync } from 'node:fs';
import type { RoundsPlan, TargetResult } from '../run/rounds.ts';
import type { Measured } from '../run/session.ts';
import type { Target } from '../targets/ids.ts';
import { targetChecks } from './checks.ts';
import { pairedVariants } from './paired.ts';
import { buildResults } from './results-json.ts';
import { type Summary, summarise } from './summary.ts';
import { formatChecks, formatMemlog, formatPaired, formatTable } from './table.ts';

export interface WriteReportOptions {
  startedAt: number;
  plan: RoundsPlan;
  targets: readonly Target[];
  measured: Measured;
  /** The names of the services measured (every process but the sink). */
  services: readonly string[];
  out: string;
  /** With `--memlog`: each process's log, for its memory peaks. */
  memlogs?: ReadonlyArray<{ name: string; log: string }>;
}

/** Writes results.json to `out` and returns what to print. */
export function writeReport(options: WriteReportOptions): string {
  const { targets, measured, plan } = options;
  const ids = targets.map((t) => t.id);
  const labels = Object.fromEntries(targets.map((t) => [t.id, t.label]));
  const summaries: Record<string, Summary> = {};
  for (const id of ids) summaries[id] = summarise(measured.outcome.results[id] as TargetResult, plan.connections);
  const letters = new Map(targets.map((t) => [t.id, t.letter]));
  const paired = pairedVariants(ids, measured.outcome.results, (id) => letters.get(id) ?? id);
  const checks = targetChecks(summaries, measured.peakRss, measured.outcome.rssByRound);
  const results = buildResults({
    startedAt: options.startedAt,
    plan,
    targets,
    summaries,
    outcome: measured.outcome,
    paired,
    checks,
    services: options.services,
    peakRss: measured.peakRss,
    sinkStats: measured.sinkStats,
    usage: measured.usage,
  });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  return [
    formatTable(ids, labels, summaries, measured.peakRss),
    formatPaired(paired, labels),
    formatChecks(checks),
    options.memlogs ? formatMemlog(options.memlogs) : '',
    `\nwrote ${options.out} in ${results.wall_time_s} s\n`,
  ].join('');
}
