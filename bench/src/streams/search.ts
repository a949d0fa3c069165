/**
 * `--streams=max`: the largest N this machine holds. Doubling from a start until a run fails, then
 * bisecting between the largest N that held and the smallest that did not, within a budget of runs
 * and a cap on N. Pure: the caller runs each N and tells the outcome.
 */

/** How far the search goes. */
export interface SearchBounds {
  /** The first N tried. */
  readonly start: number;
  /** N is never above this (the cap, or what the file-descriptor limit allows). */
  readonly max: number;
  /** Runs at most. */
  readonly maxRuns: number;
  /** Stop bisecting once the bracket is this narrow (a fraction of the N that held). */
  readonly precision: number;
}

export const DEFAULT_SEARCH: SearchBounds = Object.freeze({ start: 250, max: 4000, maxRuns: 6, precision: 0.1 });

/** One tried N and whether it held. */
export interface Tried {
  readonly n: number;
  readonly held: boolean;
}

/** The bracket of what was tried: the largest N that held (0 for none), the smallest above it that failed. */
export function bracket(tried: readonly Tried[]): { held: number; failed: number | undefined } {
  const held = Math.max(0, ...tried.filter((t) => t.held).map((t) => t.n));
  const above = tried.filter((t) => !t.held && t.n > held).map((t) => t.n);
  return { held, failed: above.length > 0 ? Math.min(...above) : undefined };
}

/**
 * The next N to try, or undefined when the search is over: the budget spent, the cap held, or the
 * bracket narrow enough. Doubles while every run held (capped at `max`); after a failure, takes the
 * middle of the bracket, rounded to 10 (to 1 below 100).
 */
export function nextStreams(tried: readonly Tried[], bounds: SearchBounds = DEFAULT_SEARCH): number | undefined {
  if (tried.length === 0) return Math.min(bounds.start, bounds.max);
  if (tried.length >= bounds.maxRuns) return undefined;
  const { held, failed } = bracket(tried);
  if (failed === undefined) {
    if (held >= bounds.max) return undefined;
    return Math.min(held * 2, bounds.max);
  }
  if (failed - held <= Math.max(1, held * bounds.precision)) return undefined;
  const middle = (held + failed) / 2;
  const step = middle >= 100 ? 10 : 1;
  const next = Math.round(middle / step) * step;
  return next > held && next < failed ? next : undefined;
}
