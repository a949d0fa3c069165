import { HttpError } from '@flashcase/telemetry';

/** What a full limit tells the client to wait: a slot frees as soon as one call ends. */
export const CONCURRENCY_RETRY_AFTER_S = 1;

/** The `limit` label of `flashcase.ai.concurrency.rejections` and the `limit` field of the 503. */
export type ConcurrencyLimit = 'upstream_connections' | 'proxy_connections' | 'streams';

/**
 * A count of things in use (connections, streams) against an explicit ceiling; `limit` 0 means
 * unbounded (still counted). Taking a slot is synchronous, so no await sits between the check and
 * the use: concurrent calls cannot both take the last slot.
 */
export class Slots {
  private inUse = 0;

  constructor(readonly limit: number) {}

  get active(): number {
    return this.inUse;
  }

  /** Takes a slot, or answers false when all `limit` are in use (never waits). */
  tryTake(): boolean {
    if (this.limit > 0 && this.inUse >= this.limit) return false;
    this.inUse += 1;
    return true;
  }

  /** Gives back a slot taken with {@link tryTake}; call it exactly once per slot. */
  release(): void {
    if (this.inUse > 0) this.inUse -= 1;
  }
}

/**
 * The 503 for a full limit: `service_unavailable` (the caller did nothing wrong and the same call
 * succeeds a moment later), `Retry-After` in seconds, and `limit` / `retry_after_s` in the body as
 * the rate limit's 429 has them.
 */
export function concurrencyLimitReached(limit: ConcurrencyLimit, message: string): HttpError {
  return new HttpError(503, 'service_unavailable', message, {
    headers: { 'Retry-After': String(CONCURRENCY_RETRY_AFTER_S) },
    details: { limit, retry_after_s: CONCURRENCY_RETRY_AFTER_S },
  });
}
