import { HttpError, IDENTITY_HEADERS } from '@flashcase/telemetry';
import type { NextFunction, Request, Response } from 'express';
import { TokenError, type Verifier } from './jwt';

/**
 * Strips identity headers that arrive from outside (`x-internal-token`, `x-flashcase-user-*`): only
 * the gateway sets them, on its way to internal services. Runs on every request, first.
 */
export function stripIdentityHeaders() {
  return function stripIdentityHeadersMiddleware(req: Request, _res: Response, next: NextFunction): void {
    delete req.headers[IDENTITY_HEADERS.internalToken];
    delete req.headers[IDENTITY_HEADERS.userId];
    delete req.headers[IDENTITY_HEADERS.userRole];
    next();
  };
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,1024})$/;

/** Verifies `Authorization: Bearer <JWT>` and sets `req.user`; 401 in the contract's JSON otherwise. */
export function authenticate(verifier: Verifier) {
  return async function authenticateMiddleware(req: Request, _res: Response, next: NextFunction): Promise<void> {
    const header = req.headers.authorization;
    if (!header) return next(new HttpError(401, 'unauthorized', 'Missing Authorization: Bearer token'));
    const match = BEARER.exec(header);
    if (!match?.[1]) return next(new HttpError(401, 'unauthorized', 'Malformed Authorization header'));
    try {
      req.user = await verifier.verify(match[1]);
      next();
    } catch (err) {
      const message = err instanceof TokenError ? err.message : 'Invalid token';
      next(new HttpError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer' } }));
    }
  };
}
