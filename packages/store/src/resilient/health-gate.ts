import { StoreUnavailableError } from '../errors';

/** Listener of {@link HealthGate.onStateChange} (and `ResilientStore.onStateChange`). */
export type StoreStateListener = (degraded: boolean, cause?: unknown) => void;

/** Options of {@link HealthGate}. */
export interface HealthGateOptions {
  /** Any call through `bounded` slower than this is a failure (it rejects). */
  commandTimeoutMs: number;
  /** Period of the background probe, while healthy (to notice an outage) and while degraded (to recover). */
  pingIntervalMs: number;
  /** The probe (a Redis PING). */
  ping: () => Promise<unknown>;
  /**
   * Called after a probe answered while degraded: resolves true when the store may be healthy
   * again (the resilient store's buffered writes are all written back), false to stay degraded.
   */
  recover: () => Promise<boolean>;
}

/**
 * The circuit breaker of the resilient store: whether Redis is to be used, and the one place that
 * changes it.
 *
 * - healthy → degraded: `fail(cause)`, from any call that failed or timed out (`bounded`), or a
 *   background probe that did.
 * - degraded → healthy: a background probe answers and `recover()` resolves true (until then the
 *   probe keeps running, so an unfinished recovery is retried).
 * - closed: after `close()` the state no longer changes and listeners are no longer called.
 *
 * Listeners hear every change (not the current state); one that throws is ignored. The probe runs
 * one at a time (`check()` joins a running one) on an unref'd timer.
 */
export class HealthGate {
  private readonly commandTimeoutMs: number;
  private readonly ping: () => Promise<unknown>;
  private readonly recover: () => Promise<boolean>;
  private readonly listeners = new Set<StoreStateListener>();
  private readonly timer: NodeJS.Timeout;
  private degraded = false;
  private closed = false;
  private checking: Promise<void> | undefined;

  constructor({ commandTimeoutMs, pingIntervalMs, ping, recover }: HealthGateOptions) {
    this.commandTimeoutMs = commandTimeoutMs;
    this.ping = ping;
    this.recover = recover;
    this.timer = setInterval(() => void this.check(), pingIntervalMs);
    this.timer.unref();
  }

  /** True from a failure until a probe has answered and the recovery is complete. */
  isDegraded(): boolean {
    return this.degraded;
  }

  /** True once `close()` was called. */
  isClosed(): boolean {
    return this.closed;
  }

  /** Calls `listener(degraded, cause)` on every change of state; returns the unsubscribe function. */
  onStateChange(listener: StoreStateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Records a failure of Redis: degraded (listeners hear `cause`) unless already degraded or closed. */
  fail(cause: unknown): void {
    this.setDegraded(true, cause);
  }

  /** Rejects with a StoreUnavailableError when `promise` has not settled within the command timeout. */
  bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`redis did not answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      timer.unref();
    });
    // The late outcome of a timed-out call is of no interest (and must not be an unhandled rejection).
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Runs the probe now (or joins the running one): ping; when degraded, try to recover. */
  check(): Promise<void> {
    this.checking ??= this.probe().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Stops the background probe; `check()` still runs one on demand. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Stops the probe, freezes the state, waits for a running probe, and forgets the listeners. */
  async close(): Promise<void> {
    this.stop();
    this.closed = true;
    await this.checking;
    this.listeners.clear();
  }

  private async probe(): Promise<void> {
    if (this.closed) return;
    try {
      await this.bounded(this.ping());
    } catch (err) {
      this.setDegraded(true, err);
      return;
    }
    if (!this.degraded) return;
    if (await this.recover()) this.setDegraded(false);
  }

  private setDegraded(degraded: boolean, cause?: unknown): void {
    if (this.degraded === degraded || this.closed) return;
    this.degraded = degraded;
    for (const listener of this.listeners) {
      try {
        listener(degraded, cause);
      } catch {
        // A listener's failure must not change the store's behaviour.
      }
    }
  }
}
