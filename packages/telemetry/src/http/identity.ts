import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-error';

export type Role = 'user' | 'admin';

export interface Identity {
  id: string;
  role: Role;
}

declare global {
  namespace Express {
    interface Request {
      /** The caller, once authenticated (gateway: from the JWT; internal services: from headers). */
      user?: Identity;
    }
  }
}

/** Headers the gateway uses to tell internal services who the caller is. */
export const IDENTITY_HEADERS = {
  internalToken: 'x-internal-token',
  userId: 'x-flashcase-user-id',
  userRole: 'x-flashcase-user-role',
} as const;

const SANE_USER_ID = /^[A-Za-z0-9._:@|-]{1,128}$/;

/** Whether `id` is a user id the identity headers accept (1-128 of `A-Z a-z 0-9 . _ : @ | -`). */
export function isUserId(id: string): boolean {
  return SANE_USER_ID.test(id);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface InternalAuthOptions {
  /** `INTERNAL_TOKEN`; when unset every caller is trusted (development only: production requires it). */
  token?: string | undefined;
  /** Paths open without the token (health probes). */
  openPaths?: readonly string[];
}

/**
 * For internal services: refuses (401) a request whose `x-internal-token` differs from
 * `INTERNAL_TOKEN` (when set), then reads the caller from `x-flashcase-user-id` and
 * `x-flashcase-user-role`, which are only trusted once the token matched.
 */
export function internalAuth({ token, openPaths = ['/api/v1/health'] }: InternalAuthOptions = {}) {
  const open = new Set(openPaths);
  return function internalAuthMiddleware(req: Request, _res: Response, next: NextFunction): void {
    if (open.has(req.path)) {
      next();
      return;
    }
    if (token !== undefined) {
      const given = req.headers[IDENTITY_HEADERS.internalToken];
      if (typeof given !== 'string' || !sameSecret(given, token)) {
        next(new HttpError(401, 'unauthorized', 'Missing or invalid internal token'));
        return;
      }
    }
    const id = req.headers[IDENTITY_HEADERS.userId];
    if (typeof id === 'string' && SANE_USER_ID.test(id)) {
      const role = req.headers[IDENTITY_HEADERS.userRole] === 'admin' ? 'admin' : 'user';
      req.user = { id, role };
    }
    next();
  };
}

/** Requires an authenticated caller (401), and the admin role when `admin` is true (403). */
export function requireUser({ admin = false }: { admin?: boolean } = {}) {
  return function requireUserMiddleware(req: Request, _res: Response, next: NextFunction): void {
    if (!req.user) next(new HttpError(401, 'unauthorized', 'Authentication required'));
    else if (admin && req.user.role !== 'admin') next(new HttpError(403, 'forbidden', 'Admin role required'));
    else next();
  };
}
