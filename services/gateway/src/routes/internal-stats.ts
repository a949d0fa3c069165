import { type CountersStore, LATENCY_BUCKETS_S, quantileFromBuckets } from '@flashcase/store';
import { HttpError } from '@flashcase/telemetry';
import { type Request, type RequestHandler, type Response, Router } from 'express';

const MAX_WINDOW_S = 24 * 3600;

/**
 * `GET /api/v1/internal/stats?window_s=300`: cluster-wide gateway request stats over the window.
 * The contract's fields, plus (additive, for the dashboard) `rate_limited`, the 429 answers in the
 * window, and `latency_buckets`, the histogram behind the quantiles: per-bucket counts (not
 * cumulative) with each bucket's upper bound `le` in seconds, the last one `"+Inf"` as in Prometheus.
 */
export function internalStatsHandler(store: CountersStore) {
  return async function internalStats(req: Request, res: Response): Promise<void> {
    const raw = req.query.window_s ?? '300';
    const windowS = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(windowS) || windowS < 60 || windowS > MAX_WINDOW_S) {
      throw new HttpError(
        400,
        'invalid_request',
        `Invalid field window_s: whole seconds between 60 and ${MAX_WINDOW_S}`,
      );
    }
    const stats = await store.requestStats(windowS);
    const quantile = (q: number) => (stats.requests === 0 ? null : round(quantileFromBuckets(stats.latencyBuckets, q)));
    res.json({
      window_s: windowS,
      requests: stats.requests,
      status_4xx: stats.status4xx,
      status_5xx: stats.status5xx,
      error_rate: stats.requests === 0 ? 0 : round(stats.status5xx / stats.requests),
      latency_p50_s: quantile(0.5),
      latency_p95_s: quantile(0.95),
      latency_p99_s: quantile(0.99),
      rate_limited: stats.rateLimited,
      latency_buckets: LATENCY_BUCKETS_S.map((le, i) => ({
        le: Number.isFinite(le) ? le : '+Inf',
        count: stats.latencyBuckets[i] ?? 0,
      })),
    });
  };
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export interface InternalStatsRoutesOptions {
  store: CountersStore;
  /** Who may read the stats: the internal token or an admin (see internalCallerOrAdmin). */
  guard: RequestHandler;
}

/**
 * `GET /api/v1/internal/stats` behind its own guard, outside the general limits and the request
 * stats (alerting polls it). Mount before the authentication of the rest of `/api/v1`.
 */
export function internalStatsRoutes({ store, guard }: InternalStatsRoutesOptions): Router {
  const router = Router();
  router.get('/api/v1/internal/stats', guard, internalStatsHandler(store));
  return router;
}
