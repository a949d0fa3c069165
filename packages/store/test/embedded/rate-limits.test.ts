import { describe, expect, it } from 'vitest';
import { type HitLogs, hitWindows, pruneHitLogs } from '../../src/embedded/rate-limits';

const T0 = Date.UTC(2025, 9, 21, 12, 0, 0);
const MINUTE = { name: 'per_minute', limit: 2, windowMs: 60_000 };
const HOUR = { name: 'per_hour', limit: 3, windowMs: 3_600_000 };

describe('embedded rate limits', () => {
  it('admits up to the limit and reports the tightest window', () => {
    const logs: HitLogs = new Map();
    expect(hitWindows(logs, 'u', [MINUTE, HOUR], T0)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetMs: 0,
      retryAfterMs: 0,
    });
    // the minute window is full after this hit: its slot frees when the first hit leaves it
    expect(hitWindows(logs, 'u', [MINUTE, HOUR], T0 + 10_000)).toMatchObject({
      allowed: true,
      remaining: 0,
      resetMs: 50_000,
    });
  });

  it('refuses when any window is full, naming the one that frees a slot last, and counts the refusal nowhere', () => {
    const logs: HitLogs = new Map();
    hitWindows(logs, 'u', [MINUTE, HOUR], T0);
    hitWindows(logs, 'u', [MINUTE, HOUR], T0 + 1000);
    hitWindows(logs, 'u', [MINUTE, HOUR], T0 + 61_000);
    // both windows are full now: the hour frees its slot at T0 + 1 h, the minute at T0 + 61 s
    const refused = hitWindows(logs, 'u', [MINUTE, HOUR], T0 + 62_000);
    expect(refused).toEqual({
      allowed: false,
      limitName: 'per_hour',
      limit: 3,
      remaining: 0,
      resetMs: 3_600_000 - 62_000,
      retryAfterMs: 3_600_000 - 62_000,
    });
    // the refused hit took no slot in the minute window
    expect(hitWindows(logs, 'u', [MINUTE], T0 + 62_000)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('is unlimited without an active window, and rejects a negative limit', () => {
    const logs: HitLogs = new Map();
    expect(hitWindows(logs, 'u', [{ ...MINUTE, limit: 0 }], T0).allowed).toBe(true);
    expect(logs.size).toBe(0);
    expect(() => hitWindows(logs, 'u', [{ ...MINUTE, limit: -1 }], T0)).toThrow(RangeError);
  });

  it('keeps a log sorted when the clock steps back', () => {
    const logs: HitLogs = new Map();
    hitWindows(logs, 'u', [HOUR], T0 + 5000);
    hitWindows(logs, 'u', [HOUR], T0);
    expect([...logs.values()][0]?.hits).toEqual([T0, T0 + 5000]);
  });

  it('prunes hits that left their window and drops the empty logs', () => {
    const logs: HitLogs = new Map();
    hitWindows(logs, 'a', [MINUTE], T0);
    hitWindows(logs, 'b', [HOUR], T0);
    pruneHitLogs(logs, T0 + 60_000);
    expect(logs.size).toBe(1);
    pruneHitLogs(logs, T0 + 3_600_000);
    expect(logs.size).toBe(0);
  });
});
