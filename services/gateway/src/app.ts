import { timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '@flashcase/config';
import type { CountersStore } from '@flashcase/store';
import {
  createServiceApp,
  errorHandler,
  getLogger,
  healthHandler,
  IDENTITY_HEADERS,
  type Instruments,
  notFound,
  requireUser,
  type StoreState,
} from '@flashcase/telemetry';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { authenticate, stripIdentityHeaders } from './auth/authenticate';
import type { Verifier } from './auth/jwt';
import { generalLimits } from './limits/general-limits';
import { type Forwarder, keepRawBody } from './proxy/forward';
import { DASHBOARD_ROUTES, dashboardRoutes } from './routes/dashboard';
import { internalStatsHandler } from './routes/internal-stats';
import type { RequestStatsRecorder } from './stats/request-stats';

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

/** AI routes named one by one so metrics carry a bounded, meaningful `http.route`. */
const AI_ROUTES = [
  'chat',
  'rewrite',
  'autocomplete',
  'chat/completions',
  'usage',
  'usage/me',
  'usage/timeseries',
  'usage/users',
];

const INTERNAL_CALLER = Symbol('flashcase.internalCaller');

/**
 * Read-only admin routes that the dashboard and `pnpm monitor` poll every few seconds. They are
 * exempt from the general per-user limits, like `/api/v1/internal/stats`: at the default 10 a
 * minute and 100 an hour a live dashboard (four reads every 5 s) would be refused within a minute.
 */
const MONITORING_READS = new Set([
  '/api/v1/ai/usage',
  '/api/v1/ai/usage/timeseries',
  '/api/v1/ai/usage/users',
  '/api/v1/alerts',
]);

/**
 * Not API traffic: page loads, probes, alerting's own stats polls and the dashboard's monitoring
 * reads stay out of the request stats the alert rules read (counted, the polls would dilute the
 * error rate, alone satisfy a rule's minimum number of requests, and an open dashboard would feed
 * its own 502s into HighErrorRate while alerting is down).
 */
const UNCOUNTED_ROUTES = new Set<string>([
  '/api/v1/health',
  '/api/v1/internal/stats',
  ...MONITORING_READS,
  ...DASHBOARD_ROUTES,
]);

function securityHeaders() {
  return function securityHeadersMiddleware(_req: Request, res: Response, next: NextFunction): void {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    res.setHeader('cache-control', 'no-store');
    next();
  };
}

/** Notes whether the caller holds the internal token, before the identity headers are stripped. */
function markInternalCaller(token: string | undefined) {
  const expected = token ? Buffer.from(token) : undefined;
  return function markInternalCallerMiddleware(req: Request, res: Response, next: NextFunction): void {
    const given = req.headers[IDENTITY_HEADERS.internalToken];
    res.locals[INTERNAL_CALLER as unknown as string] =
      expected !== undefined &&
      typeof given === 'string' &&
      given.length === expected.length &&
      timingSafeEqual(Buffer.from(given), expected);
    next();
  };
}

/** The public edge (no listening here: main.ts does that, tests use a loopback port). */
export function createApp(deps: AppDeps): Express {
  const { config, store, instruments, verifier, aiProxy, alerting, backend, stats } = deps;
  const log = getLogger('gateway.http');
  const auth = authenticate(verifier);
  const limits = generalLimits({
    store,
    instruments,
    perMinute: config.rateLimits.generalPerMinute,
    perHour: config.rateLimits.generalPerHour,
    exempt: (req) =>
      req.method === 'GET' && req.user?.role === 'admin' && MONITORING_READS.has(`${req.baseUrl}${req.path}`),
  });
  // The parsed body validates at the edge; the exact bytes are what goes on (see keepRawBody).
  const json = express.json({ limit: '1mb', verify: keepRawBody });

  const app = createServiceApp({
    instruments,
    logger: log,
    onFinish: ({ route, status, durationS }) => {
      if (!UNCOUNTED_ROUTES.has(route)) stats.record(status, durationS);
    },
  });
  app.use(securityHeaders());
  app.use(markInternalCaller(config.internalToken));
  app.use(stripIdentityHeaders());

  app.use(dashboardRoutes({ dir: deps.dashboardDir ?? join(__dirname, 'dashboard') }));
  app.get('/api/v1/health', healthHandler({ version: config.version, storeState: deps.storeState }));
  app.get('/api/v1/ai/health', (req, res) => aiProxy.forward(req, res));
  app.get(
    '/api/v1/internal/stats',
    async (req: Request, res: Response, next: NextFunction) => {
      if (res.locals[INTERNAL_CALLER as unknown as string] === true) return next();
      await auth(req, res, (err?: unknown) => {
        if (err) return next(err);
        requireUser({ admin: true })(req, res, next);
      });
    },
    internalStatsHandler(store),
  );

  // Everything else under /api/v1 needs a user, counts against the general limits, then is parsed.
  app.use('/api/v1', auth, limits, json);
  for (const path of AI_ROUTES) app.all(`/api/v1/ai/${path}`, (req, res) => aiProxy.forward(req, res));
  app.all('/api/v1/ai/*rest', (req, res) => aiProxy.forward(req, res));
  app.get('/api/v1/alerts', requireUser({ admin: true }), (req, res) => alerting.forward(req, res));
  app.all('/api/v1/alerts/*rest', requireUser({ admin: true }), (req, res) => alerting.forward(req, res));
  app.all('/api/v1/*rest', (req, res, next) => (backend ? backend.forward(req, res) : next()));

  app.use(notFound());
  app.use(errorHandler({ logger: log }));
  return app;
}
