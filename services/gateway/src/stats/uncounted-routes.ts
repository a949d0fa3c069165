import type { Request } from 'express';
import { DASHBOARD_ROUTES } from '../routes/dashboard';

/**
 * Read-only admin routes that the dashboard and `pnpm monitor` poll every few seconds. They are
 * exempt from the general per-user limits, like `/api/v1/internal/stats`: at the default 10 a
 * minute and 100 an hour a live dashboard (four reads every 5 s) would be refused within a minute.
 */
export const MONITORING_READS: ReadonlySet<string> = new Set([
  '/api/v1/ai/usage',
  '/api/v1/ai/usage/timeseries',
  '/api/v1/ai/usage/users',
  '/api/v1/alerts',
]);

/** Whether `req` is an admin's monitoring read (a GET of MONITORING_READS), which the limits let through. */
export function isMonitoringRead(req: Request): boolean {
  // baseUrl + path: the full path (no query), wherever the middleware asking is mounted.
  return req.method === 'GET' && req.user?.role === 'admin' && MONITORING_READS.has(`${req.baseUrl}${req.path}`);
}

/**
 * Not API traffic: page loads, probes, alerting's own stats polls and the dashboard's monitoring
 * reads stay out of the request stats the alert rules read (counted, the polls would dilute the
 * error rate, alone satisfy a rule's minimum number of requests, and an open dashboard would feed
 * its own 502s into HighErrorRate while alerting is down).
 */
export const UNCOUNTED_ROUTES: ReadonlySet<string> = new Set<string>([
  '/api/v1/health',
  '/api/v1/internal/stats',
  ...MONITORING_READS,
  ...DASHBOARD_ROUTES,
]);

/** Whether a finished request on `route` (its template) counts in the request stats. */
export function countsInStats(route: string): boolean {
  return !UNCOUNTED_ROUTES.has(route);
}
