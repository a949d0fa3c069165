import { HttpError } from '@flashcase/telemetry';
import type { NextFunction, Request, Response } from 'express';

/**
 * Reads and silences need an admin caller, or the internal token with no user (another service):
 * `internalAuth` has already refused callers without the token; this refuses a signed-in user who
 * is not an admin with 403 `forbidden`.
 */
export function adminOrService() {
  return function adminOrServiceMiddleware(req: Request, _res: Response, next: NextFunction): void {
    if (req.user && req.user.role !== 'admin') next(new HttpError(403, 'forbidden', 'Admin role required'));
    else next();
  };
}
