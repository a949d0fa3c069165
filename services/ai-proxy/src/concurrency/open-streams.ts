import { UpstreamError } from '../providers/upstream-error';

/**
 * The streams open on this replica, so that shutdown can end the ones still running when the drain
 * runs out: each then ends with an in-band error event (`service_unavailable`, retry), its usage
 * counted as far as it got (estimated when the upstream never sent it), instead of its connection
 * being cut. A stream is tracked by the AbortController its upstream call already runs under (the
 * one its client's leaving aborts): nothing else is kept per stream.
 */
export class OpenStreams {
  private readonly open = new Set<AbortController>();
  private ending = false;

  /** Streams open now. */
  get size(): number {
    return this.open.size;
  }

  /** Tracks a stream until {@link untrack}; one opened after {@link endAll} is ended at once. */
  track(controller: AbortController): void {
    if (this.ending) controller.abort(shuttingDown());
    this.open.add(controller);
  }

  untrack(controller: AbortController): void {
    this.open.delete(controller);
  }

  /** Ends every open stream (and any opened from now on) with the shutdown error. */
  endAll(): void {
    this.ending = true;
    const reason = shuttingDown();
    for (const controller of this.open) controller.abort(reason);
  }
}

function shuttingDown(): UpstreamError {
  return new UpstreamError('shutdown', 'This replica is shutting down; retry on another', undefined, 1);
}
