import { UNLIMITED } from '../limits/decision';
import { activeWindows } from '../limits/validate';
import type { RateLimitDecision, WindowLimit } from '../types';

/** The hits of one key in one window. */
export interface HitLog {
  windowMs: number;
  /** Hit times, oldest first. */
  hits: number[];
}

/** Hit logs by key, window name and window length. */
export type HitLogs = Map<string, HitLog>;

/** Removes the leading hits at or before `cutoff` (the log is sorted). */
function pruneHits(log: HitLog, cutoff: number): void {
  let expired = 0;
  while (expired < log.hits.length && (log.hits[expired] as number) <= cutoff) expired++;
  if (expired > 0) log.hits.splice(0, expired);
}

/** Ms until a full window (`hits.length >= limit`) has room for one more hit; at least 1. */
function waitForSlot(hits: number[], window: WindowLimit, now: number): number {
  const leaving = hits[hits.length - window.limit] as number;
  return Math.max(1, leaving + window.windowMs - now);
}

/**
 * Checks and records one hit at `now` against every active window of `key`, exactly (a log of hit
 * times per window). Refused when any window is full, reporting the window that frees a slot last;
 * a refused hit counts in none. Admitted, it reports the tightest window. No active window: unlimited.
 */
export function hitWindows(logs: HitLogs, key: string, windows: WindowLimit[], now: number): RateLimitDecision {
  const active = activeWindows(windows);
  if (active.length === 0) return { ...UNLIMITED };
  const windowLogs = active.map((window) => {
    const id = `${key}\u0000${window.name}\u0000${window.windowMs}`;
    let log = logs.get(id);
    if (!log) {
      log = { windowMs: window.windowMs, hits: [] };
      logs.set(id, log);
    }
    pruneHits(log, now - window.windowMs);
    return log;
  });

  // Refused when any window is full; report the one that frees a slot last.
  let refusedBy = -1;
  let longestWait = 0;
  active.forEach((window, i) => {
    const hits = (windowLogs[i] as HitLog).hits;
    if (hits.length < window.limit) return;
    const wait = waitForSlot(hits, window, now);
    if (refusedBy < 0 || wait > longestWait) {
      refusedBy = i;
      longestWait = wait;
    }
  });
  if (refusedBy >= 0) {
    const window = active[refusedBy] as WindowLimit;
    return {
      allowed: false,
      limitName: window.name,
      limit: window.limit,
      remaining: 0,
      resetMs: longestWait,
      retryAfterMs: longestWait,
    };
  }

  let tightest = 0;
  let tightestRemaining = Number.POSITIVE_INFINITY;
  active.forEach((window, i) => {
    const log = windowLogs[i] as HitLog;
    // Kept sorted even if the clock steps back.
    if (log.hits.length > 0 && now < (log.hits[log.hits.length - 1] as number)) {
      log.hits.splice(
        log.hits.findIndex((t) => t > now),
        0,
        now,
      );
    } else {
      log.hits.push(now);
    }
    const remaining = window.limit - log.hits.length;
    if (remaining < tightestRemaining) {
      tightest = i;
      tightestRemaining = remaining;
    }
  });
  const window = active[tightest] as WindowLimit;
  const hits = (windowLogs[tightest] as HitLog).hits;
  return {
    allowed: true,
    limit: window.limit,
    remaining: tightestRemaining,
    resetMs: tightestRemaining > 0 ? 0 : waitForSlot(hits, window, now),
    retryAfterMs: 0,
  };
}

/** Drops the hits that left their window at `now`, and the logs left empty. */
export function pruneHitLogs(logs: HitLogs, now: number): void {
  for (const [id, log] of logs) {
    pruneHits(log, now - log.windowMs);
    if (log.hits.length === 0) logs.delete(id);
  }
}
