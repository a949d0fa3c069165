import type { Config } from '@flashcase/config';
import { type Request, type Response, Router } from 'express';
import type { Provider } from '../providers/provider';

/** What `GET /api/v1/ai/health` reports on. */
export interface AiHealthRoutesDeps {
  config: Config;
  provider: Pick<Provider, 'name'>;
}

/**
 * `GET /api/v1/ai/health`: the seed's AI health shape (whether the provider is configured, the AI
 * rate limits and the cost controls). It reads configuration only, never the store or the upstream,
 * so it answers even while either is down. `grok_configured` is true only for a configured `xai`
 * provider, never for the simulator.
 */
export function aiHealthRoutes({ config, provider }: AiHealthRoutesDeps): Router {
  const router = Router();
  router.get('/api/v1/ai/health', function aiHealth(_req: Request, res: Response) {
    res.json({
      status: 'healthy',
      grok_configured: config.ai.configured && provider.name === 'xai',
      courtlistener_configured: config.courtlistenerConfigured,
      provider: provider.name,
      rate_limiting: {
        enabled: config.rateLimits.aiPerMinute > 0 || config.rateLimits.aiPerHour > 0,
        ai_per_minute: config.rateLimits.aiPerMinute,
        ai_per_hour: config.rateLimits.aiPerHour,
      },
      cost_control: {
        model: config.ai.model,
        token_tracking_enabled: config.tokens.trackingEnabled,
        alert_threshold: config.tokens.alertThreshold,
      },
    });
  });
  return router;
}
