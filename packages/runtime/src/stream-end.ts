/** The margin of a long grace: what 1 000 error events and usage records need, with room to spare. */
const MAX_STREAM_END_MARGIN_MS = 5_000;

/** How much of the margin a service keeps: ai-proxy all of it, the gateway in front of it half. */
export type MarginShare = 'full' | 'half';

/**
 * How long after SIGTERM the streams still open are ended (in-band error event, usage estimated),
 * for a runtime that cuts every connection `shutdownGraceMs` after SIGTERM (`SHUTDOWN_GRACE_MS`).
 *
 * The streams end a margin before the cut: time for their error event to reach the client through
 * the gateway, so no client sees a stream just cut. The margin is min(5 s, a fifth of the grace),
 * rounded down to a whole millisecond: a fixed 5 s would end every stream at once under a grace of
 * 5 s or less, where a fifth still gives them most of the grace to finish by themselves.
 *
 * With `half`, the streams end half that margin before the cut (rounded down): the gateway's, so
 * that when the gateway and ai-proxy stop together (a rollout, a node drained) ai-proxy's own
 * error events, sent first, are the ones relayed, and the gateway ends only what is left.
 *
 * Edge cases:
 * - 25 000 (the default) ends them at 20 000; any grace of 25 s or more keeps the whole 5 s margin.
 * - 6 000 ends them at 4 800; 4 000 at 3 200; a grace under 5 ms has no margin left (the streams
 *   end with the cut, the only option left).
 * - A grace of 0 or less (never from the config, which starts at 1) ends them at once.
 */
export function streamEndDelayMs(shutdownGraceMs: number, share: MarginShare = 'full'): number {
  if (!(shutdownGraceMs > 0)) return 0;
  const margin = Math.min(MAX_STREAM_END_MARGIN_MS, Math.floor(shutdownGraceMs / 5));
  return shutdownGraceMs - (share === 'half' ? Math.floor(margin / 2) : margin);
}
