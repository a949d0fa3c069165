import { type CountersStore, StoreUnavailableError, type WindowLimit } from '@flashcase/store';
import { HttpError, type Instruments } from '@flashcase/telemetry';
import type { NextFunction, Request, Response } from 'express';

export interface GeneralLimitsOptions {
  store: CountersStore;
  instruments: Instruments;
  perMinute: number;
  perHour: number;
  /** Requests that skip the limits (admin monitoring reads); default none. */
  exempt?: (req: Request) => boolean;
}

/**
 * The general per-user limits on every authenticated request (10/min, 100/hour by default): both
 * rolling windows checked and recorded in one atomic store step across replicas. Refusals are the
 * contract's 429 with `Retry-After` and `RateLimit-*`; admitted answers carry `RateLimit-*` too (an
 * AI route's tighter AI-limit headers from ai-proxy replace them).
 */
export function generalLimits({ store, instruments, perMinute, perHour, exempt = () => false }: GeneralLimitsOptions) {
  const windows: WindowLimit[] = [
    { name: 'general_per_minute', limit: perMinute, windowMs: 60_000 },
    { name: 'general_per_hour', limit: perHour, windowMs: 3_600_000 },
  ].filter((w) => w.limit > 0);
  return async function generalLimitsMiddleware(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (windows.length === 0 || !req.user || exempt(req)) return next();
    let decision: Awaited<ReturnType<CountersStore['hit']>>;
    try {
      decision = await store.hit(`general:${req.user.id}`, windows);
    } catch (err) {
      // closed failure mode refuses AI calls only: general traffic keeps flowing.
      if (err instanceof StoreUnavailableError) return next();
      return next(err);
    }
    const headers = {
      'RateLimit-Limit': String(decision.limit),
      'RateLimit-Remaining': String(Math.max(0, decision.remaining)),
      'RateLimit-Reset': String(Math.ceil(decision.resetMs / 1000)),
    };
    if (!decision.allowed) {
      const limit = decision.limitName ?? 'general_per_minute';
      const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      instruments.rateLimitRejections.add(1, { limit });
      return next(
        new HttpError(429, 'rate_limited', `Rate limit exceeded (${limit})`, {
          headers: { ...headers, 'Retry-After': String(retryAfterS) },
          details: { limit, retry_after_s: retryAfterS },
        }),
      );
    }
    res.set(headers);
    next();
  };
}
