import type { RateLimitDecision } from '../types';

/** The decision when no window applies (every limit is 0): admitted, nothing to report. */
export const UNLIMITED: Readonly<RateLimitDecision> = Object.freeze({
  allowed: true,
  limit: 0,
  remaining: 0,
  resetMs: 0,
  retryAfterMs: 0,
});
