import type { ServerResponse } from 'node:http';

/**
 * The timers of delayed answers (latency, slow first bytes, spaced stream chunks), kept so that
 * closing the fake cancels them all and never waits on one.
 */
export class Delays {
  private readonly timers = new Set<NodeJS.Timeout>();

  /**
   * Runs `fn` after `ms` unless the response closed first (then never); `ms` <= 0 runs it at once,
   * without a timer.
   */
  after(res: ServerResponse, ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const cancel = () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      res.off('close', cancel);
      if (!res.destroyed) fn();
    }, ms);
    this.timers.add(timer);
    res.once('close', cancel);
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Cancels every waiting timer. */
  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
