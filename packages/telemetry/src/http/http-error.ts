/** The contract's error codes (section 6), plus `internal_error` for what nobody planned. */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'payload_too_large'
  | 'rate_limited'
  | 'ai_not_configured'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'upstream_rate_limited'
  | 'not_found'
  | 'store_unavailable'
  | 'service_unavailable'
  | 'internal_error';

export interface HttpErrorOptions {
  cause?: unknown;
  /** Response headers to add (`Retry-After`, `RateLimit-*`). */
  headers?: Record<string, string>;
  /** Extra fields in the error body next to code/message/request_id (`limit`, `retry_after_s`). */
  details?: Record<string, unknown>;
}

/**
 * The one error type the edges translate into the contract's JSON:
 * `{"error": {"code", "message", "request_id", ...details}}` with `status`.
 * Internals throw it; the error middleware renders it.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
  }
}

/** The contract's error body for `error` answered to request `requestId`. */
export function errorBody(error: HttpError, requestId: string | undefined): Record<string, unknown> {
  return { error: { code: error.code, message: error.message, request_id: requestId ?? null, ...error.details } };
}
