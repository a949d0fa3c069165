import { join } from 'node:path';
import type { Config } from '@flashcase/config';
import type { CountersStore } from '@flashcase/store';
import {
  createServiceApp,
  errorHandler,
  getLogger,
  type Instruments,
  notFound,
  type StoreState,
} from '@flashcase/telemetry';
import express, { type Express } from 'express';
import { authenticate, stripIdentityHeaders } from './auth/authenticate';
import type { Verifier } from './auth/jwt';
import { generalLimits } from './limits/general-limits';
import { internalCallerOrAdmin, markInternalCaller } from './middleware/internal-caller';
import { securityHeaders } from './middleware/security-headers';
import { type Forwarder, keepRawBody } from './proxy/forward';
import { aiRoutes } from './routes/ai';
import { alertsRoutes } from './routes/alerts';
import { backendRoutes } from './routes/backend';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';
import { internalStatsRoutes } from './routes/internal-stats';
import type { RequestStatsRecorder } from './stats/request-stats';
import { countsInStats, isMonitoringRead } from './stats/uncounted-routes';

/** What the gateway's app is built from (start.ts builds the real ones, tests their own). */
export interface AppDeps {
  config: Config;
  store: CountersStore;
  storeState: () => StoreState;
  instruments: Instruments;
  verifier: Verifier;
  aiProxy: Forwarder;
  alerting: Forwarder;
  /** The FlashCase app behind `/api/v1/*`, when BACKEND_URL is set. */
  backend?: Forwarder | undefined;
  stats: RequestStatsRecorder;
  /** The built dashboard page (`dist/dashboard`, next to the compiled app, by default). */
  dashboardDir?: string;
}

/** The public edge (no listening here: start.ts does that, tests use a loopback port). */
export function createApp(deps: AppDeps): Express {
  const { config, store, instruments, verifier, aiProxy, alerting, backend, stats } = deps;
  const log = getLogger('gateway.http');
  const auth = authenticate(verifier);
  const limits = generalLimits({
    store,
    instruments,
    perMinute: config.rateLimits.generalPerMinute,
    perHour: config.rateLimits.generalPerHour,
    exempt: isMonitoringRead,
  });
  // The parsed body validates at the edge; the exact bytes are what goes on (see keepRawBody).
  const json = express.json({ limit: '1mb', verify: keepRawBody });

  const app = createServiceApp({
    instruments,
    logger: log,
    onFinish: ({ route, status, durationS }) => {
      if (countsInStats(route)) stats.record(status, durationS);
    },
  });
  app.use(securityHeaders());
  // Before the strip: it reads the internal token the strip removes.
  app.use(markInternalCaller(config.internalToken));
  app.use(stripIdentityHeaders());

  // Open, or guarded on their own: no user needed, outside the general limits.
  app.use(dashboardRoutes({ dir: deps.dashboardDir ?? join(__dirname, 'dashboard') }));
  app.use(healthRoutes({ version: config.version, storeState: deps.storeState, aiProxy }));
  app.use(internalStatsRoutes({ store, guard: internalCallerOrAdmin(auth) }));

  // Everything else under /api/v1 needs a user, counts against the general limits, then is parsed.
  app.use('/api/v1', auth, limits, json);
  app.use(aiRoutes(aiProxy));
  app.use(alertsRoutes(alerting));
  app.use(backendRoutes(backend));

  app.use(notFound());
  app.use(errorHandler({ logger: log }));
  return app;
}
