/**
 * The shared store cannot answer right now (Redis unreachable, timed out, or the store is degraded
 * and the call needs the shared state). Services turn it into a refusal (fail-closed limits) or a
 * 503 (reads); `cause` carries the underlying client error when there is one.
 */
export class StoreUnavailableError extends Error {
  /** Stable, machine-readable code for logs and error bodies. */
  readonly code = 'store_unavailable';

  constructor(message = 'the counters store is unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
