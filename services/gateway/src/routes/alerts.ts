import { requireUser } from '@flashcase/telemetry';
import { type RequestHandler, Router } from 'express';
import type { Forwarder } from '../proxy/forward';

/**
 * `/api/v1/alerts` and below go on to alerting, for admins only (403 for anyone else). Mount after
 * authentication, the general limits and the JSON parser.
 */
export function alertsRoutes(alerting: Forwarder): Router {
  const router = Router();
  const admin = requireUser({ admin: true });
  const forward: RequestHandler = function forwardToAlerting(req, res) {
    return alerting.forward(req, res);
  };
  router.get('/api/v1/alerts', admin, forward);
  router.all('/api/v1/alerts/*rest', admin, forward);
  return router;
}
