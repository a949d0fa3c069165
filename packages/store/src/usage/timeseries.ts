import { assertDuration } from '../limits/validate';
import { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS } from '../time';
import type { TimeseriesPoint, UsageCounters } from '../types';
import { addCounters, emptyCounters } from './counters';

/** How a `timeseries(windowMs, stepMs)` call is cut into steps. */
export interface StepLayout {
  /** Start of the oldest step. */
  firstStartMs: number;
  stepMs: number;
  steps: number;
}

/**
 * Steps aligned to multiples of `stepMs` since the epoch, the last one containing `nowMs`, enough of
 * them to cover `windowMs`. `stepMs` is rounded up to whole minutes (buckets are per minute) and
 * `windowMs` is capped at the bucket retention (25 h). Throws RangeError on non-positive values.
 */
export function stepLayout(nowMs: number, windowMs: number, stepMs: number): StepLayout {
  assertDuration(windowMs, 'windowMs');
  assertDuration(stepMs, 'stepMs');
  const step = Math.ceil(stepMs / MINUTE_MS) * MINUTE_MS;
  const steps = Math.max(1, Math.ceil(Math.min(windowMs, GLOBAL_BUCKET_RETENTION_MS) / step));
  const lastStart = nowMs - (nowMs % step);
  return { firstStartMs: lastStart - (steps - 1) * step, stepMs: step, steps };
}

/**
 * How far back (ms before now) a reader must fetch minute buckets to fill any layout of
 * (`windowMs`, `stepMs`): a superset, the aggregation drops what falls outside.
 */
export function lookbackMs(windowMs: number, stepMs: number): number {
  const step = Math.ceil(stepMs / MINUTE_MS) * MINUTE_MS;
  return Math.min(windowMs, GLOBAL_BUCKET_RETENTION_MS) + step;
}

/** Sums minute buckets into the layout's steps, oldest first; every step is present (zeros when empty). */
export function aggregateSteps(
  layout: StepLayout,
  minutes: Iterable<readonly [minuteMs: number, counters: UsageCounters]>,
): TimeseriesPoint[] {
  const points: TimeseriesPoint[] = [];
  for (let i = 0; i < layout.steps; i++) {
    points.push({ startMs: layout.firstStartMs + i * layout.stepMs, counters: emptyCounters() });
  }
  for (const [minuteMs, counters] of minutes) {
    const index = Math.floor((minuteMs - layout.firstStartMs) / layout.stepMs);
    const point = points[index];
    if (point) addCounters(point.counters, counters);
  }
  return points;
}
