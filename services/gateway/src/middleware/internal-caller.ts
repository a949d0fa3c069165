import { timingSafeEqual } from 'node:crypto';
import { IDENTITY_HEADERS, requireUser } from '@flashcase/telemetry';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

const INTERNAL_CALLER = Symbol('flashcase.internalCaller');

/** Whether markInternalCaller found the internal token on this request. */
export function isInternalCaller(res: Response): boolean {
  return res.locals[INTERNAL_CALLER as unknown as string] === true;
}

/**
 * Notes whether the caller holds the internal token (alerting polling the stats), compared in
 * constant time. Must run before stripIdentityHeaders, which removes the header from every request
 * that arrives from outside. With no token configured nobody is an internal caller.
 */
export function markInternalCaller(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return function markInternalCallerMiddleware(req: Request, res: Response, next: NextFunction): void {
    const given = req.headers[IDENTITY_HEADERS.internalToken];
    res.locals[INTERNAL_CALLER as unknown as string] =
      expected !== undefined &&
      typeof given === 'string' &&
      given.length === expected.length &&
      timingSafeEqual(Buffer.from(given), expected);
    next();
  };
}

/**
 * Admits an internal caller as it is, anyone else only through `authenticate` and as an admin:
 * 401 without a valid token, 403 for a user who is not an admin.
 */
export function internalCallerOrAdmin(authenticate: RequestHandler) {
  const admin = requireUser({ admin: true });
  return async function internalCallerOrAdminMiddleware(
    req: Request,
    res: Response,
    next: NextFunction,
  ): Promise<void> {
    if (isInternalCaller(res)) return next();
    await authenticate(req, res, (err?: unknown) => {
      if (err) return next(err);
      admin(req, res, next);
    });
  };
}
