import { HttpError } from '@flashcase/telemetry';
import { describe, expect, it } from 'vitest';
import { asUpstreamError, errorType, failureOutcome, toHttpError } from '../../src/calls/upstream-failure';
import { UpstreamError } from '../../src/providers/upstream-error';

describe('an upstream failure as the contract answers it', () => {
  it.each([
    ['timeout', 504, 'upstream_timeout'],
    ['rate_limited', 503, 'upstream_rate_limited'],
    ['rejected', 400, 'invalid_request'],
    ['aborted', 499, 'invalid_request'],
    ['status', 502, 'upstream_error'],
    ['malformed', 502, 'upstream_error'],
    ['connection', 502, 'upstream_error'],
  ] as const)('maps %s to %i %s, with the failure as its cause', (kind, status, code) => {
    const failure = new UpstreamError(kind, `upstream ${kind}`, 500);
    const answered = toHttpError(failure);
    expect(answered).toBeInstanceOf(HttpError);
    expect(answered.status).toBe(status);
    expect(answered.code).toBe(code);
    expect(answered.cause).toBe(failure);
  });

  it("passes a rejection's own message on to the client", () => {
    expect(
      toHttpError(new UpstreamError('rejected', 'Upstream rejected the request (422): bad tools', 422)).message,
    ).toBe('Upstream rejected the request (422): bad tools');
  });

  it("answers a rate limit with the upstream's Retry-After, 30 s when it sent none", () => {
    const told = toHttpError(new UpstreamError('rate_limited', 'slow down', 429, 7));
    expect(told.headers).toEqual({ 'Retry-After': '7' });
    expect(told.details).toEqual({ retry_after_s: 7 });
    const untold = toHttpError(new UpstreamError('rate_limited', 'slow down', 429));
    expect(untold.headers).toEqual({ 'Retry-After': '30' });
    expect(untold.details).toEqual({ retry_after_s: 30 });
  });
});

describe('error.type of a failed call', () => {
  it("is the upstream's status for a status failure, the kind otherwise", () => {
    expect(errorType(new UpstreamError('status', 'boom', 503))).toBe('503');
    expect(errorType(new UpstreamError('status', 'mid-stream error'))).toBe('status');
    expect(errorType(new UpstreamError('timeout', 'slow', 504))).toBe('timeout');
    expect(errorType(new UpstreamError('rate_limited', 'slow down', 429))).toBe('rate_limited');
  });

  it("is the error's name for anything else", () => {
    expect(errorType(new TypeError('nope'))).toBe('TypeError');
    expect(errorType({})).toBe('Error');
  });
});

describe('an unclassified failure', () => {
  it('is a connection failure with the original error as its cause', () => {
    const thrown = new Error('socket hang up');
    const failure = asUpstreamError(thrown, 'Upstream call failed');
    expect(failure.kind).toBe('connection');
    expect(failure.message).toBe('Upstream call failed');
    expect(failure.cause).toBe(thrown);
  });

  it('is left as it is when it is already classified', () => {
    const failure = new UpstreamError('timeout', 'slow');
    expect(asUpstreamError(failure, 'Upstream call failed')).toBe(failure);
  });
});

describe('the outcome a failed call is recorded with', () => {
  it('is client_closed when the client went away, else the code it was answered with', () => {
    const aborted = new UpstreamError('aborted', 'Client went away');
    expect(failureOutcome(aborted, toHttpError(aborted))).toBe('client_closed');
    const timeout = new UpstreamError('timeout', 'slow');
    expect(failureOutcome(timeout, toHttpError(timeout))).toBe('upstream_timeout');
  });
});
