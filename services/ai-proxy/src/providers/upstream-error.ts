/**
 * How an upstream call failed: `timeout` (no answer, or a silence, in time), `rate_limited` (429),
 * `status` (another non-2xx, or an error mid-stream), `rejected` (a 4xx the request caused),
 * `malformed` (an answer we cannot read), `connection` (refused, reset, cut short), `aborted` (the
 * client went away), `shutdown` (this replica ended the stream: its drain ran out).
 */
export type UpstreamErrorKind =
  | 'timeout'
  | 'rate_limited'
  | 'status'
  | 'rejected'
  | 'malformed'
  | 'connection'
  | 'aborted'
  | 'shutdown';

/** An upstream failure, classified for the contract's error codes and `error.type`. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
