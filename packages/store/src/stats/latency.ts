/**
 * Upper bounds (seconds) of the gateway latency buckets that `RequestStatsDelta.latencyBuckets`
 * counts into, index for index; the last bucket is +Inf. The same bounds as the HTTP semconv
 * histogram advice, so the store's quantiles match Prometheus' on `/metrics`.
 */
export const LATENCY_BUCKETS_S: readonly number[] = Object.freeze([
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
  Number.POSITIVE_INFINITY,
]);

/** The bucket index a latency (seconds) is counted in. */
export function latencyBucketIndex(seconds: number, bounds: readonly number[] = LATENCY_BUCKETS_S): number {
  const index = bounds.findIndex((upper) => seconds <= upper);
  return index < 0 ? bounds.length - 1 : index;
}

/**
 * The `q`-quantile of a histogram given as per-bucket counts (not cumulative), with linear
 * interpolation inside the bucket the rank falls in, as Prometheus' `histogram_quantile` does.
 *
 * Edge cases:
 * - no observations (all counts 0 or an empty array): 0;
 * - the rank falls in the +Inf bucket: the largest finite upper bound;
 * - the first bucket interpolates from 0 (latencies are never negative);
 * - `buckets` shorter than `bounds` counts the missing ones as 0; extra entries are ignored;
 * - `q` outside [0, 1] or NaN: RangeError.
 */
export function quantileFromBuckets(
  buckets: readonly number[],
  q: number,
  bounds: readonly number[] = LATENCY_BUCKETS_S,
): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const counts = bounds.map((_, i) => Math.max(0, buckets[i] ?? 0));
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] as number;
    if (below + count >= rank && count > 0) {
      const upper = bounds[i] as number;
      if (upper === Number.POSITIVE_INFINITY) return i > 0 ? (bounds[i - 1] as number) : 0;
      const lower = i > 0 ? (bounds[i - 1] as number) : 0;
      return lower + (upper - lower) * ((rank - below) / count);
    }
    below += count;
  }
  // Unreachable with total > 0 (the last non-empty bucket always satisfies the rank); kept for types.
  return 0;
}
