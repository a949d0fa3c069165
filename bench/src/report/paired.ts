/**
 * Variants against their plain target, paired by round: for `d-stock-http` against `d` (and any
 * other c/d variant or baseline against its letter), the ratio of the chain's CPU per request and
 * of throughput at N connections in each round, and the median of those ratios. Pairing cancels the
 * drift between rounds, which on a shared machine can exceed the difference being measured.
 *
 * The chain's CPU is that of the services (gateway and ai-proxy), without the upstream: the parts
 * being compared run there, and the upstream's constant share would only dilute the ratio.
 */
import type { TargetResult } from '../run/rounds.ts';
import { median, round } from '../stats.ts';

/** Ratios of one variant against its plain target: variant / plain, per round and their median. */
export interface PairedRatios {
  /** The plain target it is measured against (`d`). */
  against: string;
  cpu_ratio: number;
  throughput_ratio: number;
  rounds_cpu_ratio: number[];
  rounds_throughput_ratio: number[];
  /**
   * The keep-or-delete rule for a hand-made replacement, read for the variant that puts the stock
   * library back: true when that costs at least 10 % more of the chain's CPU per request, or at
   * least 10 % of the throughput (then the replacement earns its upkeep).
   */
  costs_10_percent: boolean;
}

/** The process a plain stack shares with every chain and that no variant changes. */
const UPSTREAM = 'upstream';

/** The chain's CPU ms per request (upstream excluded) in each round. */
export function chainCpuByRound(result: TargetResult): number[] {
  const perProcess = Object.entries(result.cpuMsPerRequest).filter(([name]) => name !== UPSTREAM);
  return result.throughput.map((_, i) => perProcess.reduce((n, [, values]) => n + (values[i] ?? Number.NaN), 0));
}

const ratiosOf = (x: number[], y: number[]) =>
  x.map((v, i) => v / (y[i] ?? Number.NaN)).filter((r) => Number.isFinite(r) && r > 0);

/** `variant` against `plain`, paired by round; undefined when no round has both. */
export function pairedRatios(against: string, variant: TargetResult, plain: TargetResult): PairedRatios | undefined {
  const cpu = ratiosOf(chainCpuByRound(variant), chainCpuByRound(plain));
  const tput = ratiosOf(
    variant.throughput.map((r) => r.rps),
    plain.throughput.map((r) => r.rps),
  );
  if (cpu.length === 0 || tput.length === 0) return undefined;
  const cpuRatio = round(median(cpu), 3);
  const tputRatio = round(median(tput), 3);
  return {
    against,
    cpu_ratio: cpuRatio,
    throughput_ratio: tputRatio,
    rounds_cpu_ratio: cpu.map((r) => round(r, 3)),
    rounds_throughput_ratio: tput.map((r) => round(r, 3)),
    costs_10_percent: cpuRatio >= 1.1 || tputRatio <= 0.9,
  };
}

/**
 * Every c/d target that is not the plain letter, against that letter when it ran too, in the order
 * given. `letterOf` tells a target's letter (`d-stock-http@base` -> `d`).
 */
export function pairedVariants(
  ids: readonly string[],
  results: Readonly<Record<string, TargetResult>>,
  letterOf: (id: string) => string,
): Record<string, PairedRatios> {
  const paired: Record<string, PairedRatios> = {};
  for (const id of ids) {
    const letter = letterOf(id);
    const plain = results[letter];
    const variant = results[id];
    if (id === letter || (letter !== 'c' && letter !== 'd') || !plain || !variant) continue;
    const ratios = pairedRatios(letter, variant, plain);
    if (ratios) paired[id] = ratios;
  }
  return paired;
}
