import { LAST_HOUR_MINUTES, MINUTE_MS, minuteOf } from '../time';
import type { UsageCounters } from '../types';
import { addCounters, emptyCounters } from '../usage/counters';

/** Usage counters by minute start (ms). */
export type MinuteBuckets = Map<number, UsageCounters>;

/** Adds `counters` into `map`'s entry for `name`, made zeroed when absent. */
export function addTo<K>(map: Map<K, UsageCounters>, name: K, counters: UsageCounters): void {
  let entry = map.get(name);
  if (!entry) {
    entry = emptyCounters();
    map.set(name, entry);
  }
  addCounters(entry, counters);
}

/** Drops the entries of a time-keyed map whose key is at or before `cutoff`. */
export function pruneMinutes<V>(map: Map<number, V>, cutoff: number): void {
  for (const minute of map.keys()) {
    if (minute <= cutoff) map.delete(minute);
  }
}

/** The sum of the last hour's buckets at `now`: the current (partial) minute and the 59 before it. */
export function lastHourOf(buckets: MinuteBuckets | undefined, now: number): UsageCounters {
  const sum = emptyCounters();
  if (!buckets) return sum;
  const current = minuteOf(now);
  for (let i = 0; i < LAST_HOUR_MINUTES; i++) {
    const bucket = buckets.get(current - i * MINUTE_MS);
    if (bucket) addCounters(sum, bucket);
  }
  return sum;
}
