/** The contract's error codes (section 6), plus `internal_error` for what nobody planned. */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'payload_too_large'
  | 'rate_limited'
  | 'budget_exceeded'
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
 * `{"error": {"code", "message", "type", "request_id", ...details}}` with `status` (`type` is
 * OpenAI's error type for the status, see {@link openAIErrorType}).
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

/** OpenAI's error `type` names, by which OpenAI clients classify an error (contract section 6). */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error';

/**
 * OpenAI's error `type` for an HTTP status: 401 authentication, 403 permission, 404 not found, 429
 * rate limit, other 4xx invalid request, everything else (5xx, 499) an API error.
 */
export function openAIErrorType(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500 && status !== 499) return 'invalid_request_error';
  return 'api_error';
}

/** The contract's error body for `error` answered to request `requestId`. */
export function errorBody(error: HttpError, requestId: string | undefined): Record<string, unknown> {
  return {
    error: {
      code: error.code,
      message: error.message,
      type: openAIErrorType(error.status),
      request_id: requestId ?? null,
      ...error.details,
    },
  };
}
