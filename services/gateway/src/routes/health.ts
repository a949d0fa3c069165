import { healthHandler, type StoreState } from '@flashcase/telemetry';
import { Router } from 'express';
import type { Forwarder } from '../proxy/forward';

export interface HealthRoutesOptions {
  /** The version the health answer reports. */
  version: string;
  /** The store's state right now (`connected`, `degraded`...). */
  storeState: () => StoreState;
  /** ai-proxy, which answers its own health (and the AI provider's) through the gateway. */
  aiProxy: Forwarder;
}

/**
 * The health probes, open to every caller (no token, no limits): `GET /api/v1/health`, the gateway's
 * own, and `GET /api/v1/ai/health`, ai-proxy's answered through the gateway. Mount before
 * authentication.
 */
export function healthRoutes({ version, storeState, aiProxy }: HealthRoutesOptions): Router {
  const router = Router();
  router.get('/api/v1/health', healthHandler({ version, storeState }));
  router.get('/api/v1/ai/health', function aiHealth(req, res) {
    return aiProxy.forward(req, res);
  });
  return router;
}
