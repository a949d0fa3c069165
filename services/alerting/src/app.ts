import type { Config } from '@flashcase/config';
import {
  createServiceApp,
  errorHandler,
  getLogger,
  healthHandler,
  type Instruments,
  internalAuth,
  notFound,
  type StoreState,
} from '@flashcase/telemetry';
import express, { type Express } from 'express';
import type { LoopStatus } from './engine/loop';
import { alertRoutes } from './routes/alerts';
import type { AlertRule } from './rules/alert-rule';
import type { AlertRepository } from './state/repository';

export interface AppDeps {
  config: Config;
  repository: AlertRepository;
  rules: readonly AlertRule[];
  /** What `/api/v1/health` reports as `database`. */
  storeState: () => StoreState;
  instruments: Instruments;
  /** This replica's part in the evaluation (leader or follower), shown in health. */
  loopStatus?: () => LoopStatus;
  now?: () => number;
}

/** The alerting HTTP app (no listening here: main.ts does that, tests use a loopback port). */
export function createApp(deps: AppDeps): Express {
  const { config, repository, rules, instruments } = deps;
  const log = getLogger('alerting.http');
  const app = createServiceApp({ instruments, logger: log });
  app.get(
    '/api/v1/health',
    healthHandler({
      version: config.version,
      storeState: deps.storeState,
      checks: (): Record<string, { status?: string; [key: string]: unknown }> =>
        deps.loopStatus ? { evaluator: { status: 'ok', ...deps.loopStatus() } } : {},
    }),
  );
  app.use(internalAuth({ token: config.internalToken }));
  app.use(express.json({ limit: '1mb' }));
  app.use(alertRoutes({ repository, rules, ...(deps.now ? { now: deps.now } : {}) }));
  app.use(notFound());
  app.use(errorHandler({ logger: log }));
  return app;
}
