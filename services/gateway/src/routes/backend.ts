import { Router } from 'express';
import type { Forwarder } from '../proxy/forward';

/**
 * Any other `/api/v1/*` route goes on to the FlashCase app behind the gateway (BACKEND_URL), with the
 * caller's identity. Without a backend the request falls through to the 404. Mount last, after
 * authentication, the general limits and the JSON parser.
 */
export function backendRoutes(backend: Forwarder | undefined): Router {
  const router = Router();
  router.all('/api/v1/*rest', function forwardToBackend(req, res, next) {
    return backend ? backend.forward(req, res) : next();
  });
  return router;
}
