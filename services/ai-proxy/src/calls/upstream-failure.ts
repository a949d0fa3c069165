import { HttpError } from '@flashcase/telemetry';
import { UpstreamError } from '../providers/upstream-error';

/** The upstream failure as the contract's error (status, code) and the metric's `error.type`. */
export function toHttpError(err: UpstreamError): HttpError {
  switch (err.kind) {
    case 'timeout':
      return new HttpError(504, 'upstream_timeout', 'The AI provider did not answer in time', { cause: err });
    case 'rate_limited':
      return new HttpError(503, 'upstream_rate_limited', 'The AI provider is rate limiting us; retry later', {
        cause: err,
        headers: { 'Retry-After': String(err.retryAfterS ?? 30) },
        details: { retry_after_s: err.retryAfterS ?? 30 },
      });
    case 'rejected':
      return new HttpError(400, 'invalid_request', err.message, { cause: err });
    case 'shutdown':
      return new HttpError(503, 'service_unavailable', 'This AI service replica is shutting down; retry', {
        cause: err,
        headers: { 'Retry-After': String(err.retryAfterS ?? 1) },
        details: { retry_after_s: err.retryAfterS ?? 1 },
      });
    case 'aborted':
      // Nobody reads this answer; 499 (nginx's "client closed request") keeps it out of the 5xx rate.
      return new HttpError(499, 'invalid_request', 'Client closed the request', { cause: err });
    default:
      return new HttpError(502, 'upstream_error', 'The AI provider failed to answer', { cause: err });
  }
}

/**
 * `error.type` of a failed call: the upstream's status for a `status` failure that has one, else the
 * failure's kind; for anything that is not an {@link UpstreamError}, the error's name (`Error` when
 * it has none).
 */
export function errorType(err: unknown): string {
  if (err instanceof UpstreamError) return err.kind === 'status' && err.status ? String(err.status) : err.kind;
  return (err as Error)?.name ?? 'Error';
}

/**
 * `err` as an {@link UpstreamError}: itself when it is one, else a `connection` failure with
 * `message` and `err` as its cause (a provider that threw something unclassified).
 */
export function asUpstreamError(err: unknown, message: string): UpstreamError {
  return err instanceof UpstreamError
    ? err
    : new UpstreamError('connection', message, undefined, undefined, { cause: err });
}

/**
 * The `outcome` a failed call is recorded with: `client_closed` when the client went away, else
 * the contract's error code the client is answered with.
 */
export function failureOutcome(failure: UpstreamError, answered: HttpError): string {
  return failure.kind === 'aborted' ? 'client_closed' : answered.code;
}
