/**
 * What one paced stream is and how late its chunks came. The paced upstream writes its first event
 * (the role chunk) at once, then one content chunk every `intervalMs`, then, one interval after the
 * last content chunk, the ending (finish chunk, usage chunk, `[DONE]`) together. So event k of a
 * stream is due `min(k, chunks + 1) * intervalMs` after the stream's first byte, and its lateness
 * is how much later than that it arrived. Pure: no I/O.
 */

/** How the upstream paces a stream. */
export interface Pacing {
  /** Content chunks per stream. */
  readonly chunks: number;
  /** ms between two chunks. */
  readonly intervalMs: number;
}

/** What the client saw of one stream. */
export interface StreamRecord {
  /** HTTP status, 0 when no answer came. */
  status: number;
  /** The last event was `data: [DONE]`. */
  done: boolean;
  /** ms from sending the request to the first body byte; NaN when none came. */
  ttfbMs: number;
  /** Arrival of each `data:` event, in ms from sending the request, in order. */
  eventsMs: number[];
  /** A socket error or timeout, when there was one. */
  error?: string;
}

/** A stream that completed: status 200 and ended with `[DONE]`. */
export function completed(record: StreamRecord): boolean {
  return record.status === 200 && record.done && record.error === undefined;
}

/** When event `k` (0 = the first) is due, in ms after the stream's first byte. */
export function scheduledMs(k: number, pacing: Pacing): number {
  return Math.min(k, pacing.chunks + 1) * pacing.intervalMs;
}

/**
 * The lateness (ms) of every event after the first of one stream: its arrival minus its due time,
 * both from the stream's first byte. Empty for a stream with no first byte. Events that arrived in
 * one read share its arrival time, which is what a client sees.
 */
export function lateness(record: StreamRecord, pacing: Pacing): number[] {
  if (!Number.isFinite(record.ttfbMs)) return [];
  const out: number[] = [];
  for (let k = 1; k < record.eventsMs.length; k++) {
    out.push((record.eventsMs[k] as number) - record.ttfbMs - scheduledMs(k, pacing));
  }
  return out;
}

/** About how long one stream lasts when nothing is late (first byte to `[DONE]`). */
export function streamLengthMs(pacing: Pacing): number {
  return (pacing.chunks + 1) * pacing.intervalMs;
}
