import type { NextFunction, Request, Response } from 'express';

/**
 * The gateway answers JSON and event streams, never a page to render (the dashboard sets its own
 * policy over these): so no sniffing, no framing, no referrer, no cross-origin reads, nothing
 * allowed to load, and nothing cached, since answers carry per-user data.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
});

/** Sets the API's security headers on every answer (a later route may replace them, as the dashboard does). */
export function securityHeaders() {
  return function securityHeadersMiddleware(_req: Request, res: Response, next: NextFunction): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    next();
  };
}
