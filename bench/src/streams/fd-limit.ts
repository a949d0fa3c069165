/**
 * Open files: each open stream holds a socket in the client and two in a proxy hop (one in, one
 * out), so a run of N streams needs about 2N descriptors in a hop process, and the soft limit
 * (`ulimit -n`), which the children inherit, must allow it. Checked before anything starts.
 */
import { readFileSync } from 'node:fs';

/** Descriptors a process needs besides its streams' sockets (Redis, OTLP, logs, the runtime). */
const HEADROOM = 200;

/** The soft `Max open files` of a `/proc/<pid>/limits` text; undefined when unlimited or absent. */
export function softOpenFiles(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

/** The largest N of streams a soft limit allows (Infinity without one). */
export function maxStreamsFor(limit: number | undefined): number {
  return limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor((limit - HEADROOM) / 2));
}

/** Throws one line saying what to raise when `n` streams need more descriptors than `limit` allows. */
export function checkOpenFiles(n: number, limit: number | undefined): void {
  const max = maxStreamsFor(limit);
  if (n > max) {
    throw new Error(
      `--streams=${n} needs about ${2 * n + HEADROOM} open files per process but ulimit -n is ${limit} ` +
        `(enough for ${max} streams): raise it (ulimit -n ${2 * n + HEADROOM}) or ask for fewer streams`,
    );
  }
}

/** This process's soft open-files limit. */
export function ownOpenFilesLimit(): number | undefined {
  try {
    return softOpenFiles(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
