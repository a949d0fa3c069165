import type { UsagePeriods } from '../types';

/** `h<yyyy-MM-ddTHH>`, `d<yyyy-MM-dd>`, `m<yyyy-MM>`: the report period labels (see `UsagePeriods`). */
const LABEL = /^(?:h\d{4}-\d{2}-\d{2}T\d{2}|d\d{4}-\d{2}-\d{2}|m\d{4}-\d{2})$/;

/** RangeError unless `period` is a report period label. */
export function assertPeriod(period: string): void {
  if (typeof period !== 'string' || !LABEL.test(period)) {
    throw new RangeError(`period must be h<yyyy-MM-ddTHH>, d<yyyy-MM-dd> or m<yyyy-MM>, got ${String(period)}`);
  }
}

/** RangeError unless each label is one of its kind. */
export function assertPeriods(periods: UsagePeriods): void {
  for (const [kind, label] of [
    ['h', periods.hour],
    ['d', periods.day],
    ['m', periods.month],
  ] as const) {
    assertPeriod(label);
    if (!label.startsWith(kind)) throw new RangeError(`expected a ${kind} period label, got ${label}`);
  }
}
