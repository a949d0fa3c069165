import type { WindowLimit } from '../types';

/** A count the store adds or compares: a non-negative safe integer. */
export function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** A duration: a positive safe integer number of ms. */
export function assertDuration(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer (ms), got ${value}`);
  }
}

/** The windows that apply (limit > 0), validated; throws RangeError on a negative limit or a bad window. */
export function activeWindows(windows: readonly WindowLimit[]): WindowLimit[] {
  const active: WindowLimit[] = [];
  for (const window of windows) {
    assertCount(window.limit, `limit ${window.name}`);
    if (window.limit === 0) continue;
    assertDuration(window.windowMs, `windowMs of ${window.name}`);
    active.push(window);
  }
  return active;
}
