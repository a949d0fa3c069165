import type { Config } from '@flashcase/config';
import type { CountersStore, SpendStore } from '@flashcase/store';
import {
  AILogger,
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
import { ReportPeriods } from './budgets/periods';
import { type SpendBudgets, spendBudgets } from './budgets/spend-budgets';
import { AiCalls } from './calls/ai-calls';
import type { OpenStreams } from './concurrency/open-streams';
import { AiLimits } from './limits/ai-limits';
import { genAiProviderName, type Provider } from './providers/provider';
import { aiRoutes } from './routes/ai';
import { aiHealthRoutes } from './routes/ai-health';
import { budgetsRoutes } from './routes/budgets';
import { modelsRoutes } from './routes/models';
import { reportsRoutes } from './routes/reports';
import { usageRoutes } from './routes/usage';
import { UsageAccounting } from './usage/accounting';
import type { PricingTable } from './usage/pricing';

export interface AppDeps {
  config: Config;
  store: CountersStore;
  /** The spend budgets (same store, same failure mode). */
  spend: SpendStore;
  /** The clock of the calendar budgets (tests move it); default Date.now. */
  now?: () => number;
  /** The budgets over `spend` (start.ts makes them to feed the budget gauges); default: made here. */
  budgets?: SpendBudgets;
  /** What `/api/v1/health` reports as `database`. */
  storeState: () => StoreState;
  provider: Provider;
  pricing: PricingTable;
  instruments: Instruments;
  /** The open streams (start.ts ends them in-band when the shutdown drain runs out); default: the app's own. */
  openStreams?: OpenStreams;
}

/** The ai-proxy HTTP app (no listening here: start.ts does that, tests use a loopback port). */
export function createApp(deps: AppDeps): Express {
  const { config, store, provider, pricing, instruments } = deps;
  const log = getLogger('ai-proxy.http');
  const accounting = new UsageAccounting({
    store,
    instruments,
    aiLogger: new AILogger(getLogger('ai-proxy.usage'), { oneCallsite: true }),
    log: getLogger('ai-proxy.usage'),
    pricing,
    trackingEnabled: config.tokens.trackingEnabled,
    providerName: genAiProviderName(provider),
    periods: new ReportPeriods(config.budgets.timeZone, deps.now),
  });
  const budgets = deps.budgets ?? spendBudgets(config, deps.spend, instruments, deps.now);
  const limits = new AiLimits(
    store,
    instruments,
    {
      perMinute: config.rateLimits.aiPerMinute,
      perHour: config.rateLimits.aiPerHour,
      tokenBudgetPerHour: config.ai.tokenBudgetPerUserPerHour,
    },
    budgets,
  );
  const calls = new AiCalls({
    provider,
    limits,
    accounting,
    instruments,
    trackingEnabled: config.tokens.trackingEnabled,
    maxConcurrentStreams: config.ai.maxConcurrentStreams,
    openStreams: deps.openStreams,
  });

  const app = createServiceApp({ instruments, logger: log });
  app.get('/api/v1/health', healthHandler({ version: config.version, storeState: deps.storeState }));
  app.use(internalAuth({ token: config.internalToken }));
  app.use(aiHealthRoutes({ config, provider }));
  app.use(express.json({ limit: '1mb' }));
  app.use(
    aiRoutes({
      calls,
      configured: provider.name === 'simulated' || config.ai.configured,
      defaults: {
        model: config.ai.model,
        temperature: config.ai.defaultTemperature,
        maxTokens: config.ai.maxTokens,
        allowedModels: new Set(Object.keys(pricing)),
        maxN: config.ai.maxN,
      },
    }),
  );
  app.use(modelsRoutes({ models: Object.keys(pricing), created: Math.floor(Date.now() / 1000) }));
  app.use(budgetsRoutes({ budgets }));
  app.use(reportsRoutes({ store, budgets, timeZone: config.budgets.timeZone, ...(deps.now ? { now: deps.now } : {}) }));
  app.use(
    usageRoutes({
      store,
      budgets,
      timeZone: config.budgets.timeZone,
      ...(deps.now ? { now: deps.now } : {}),
      alertThreshold: config.tokens.alertThreshold,
      model: config.ai.model,
      defaultTemperature: config.ai.defaultTemperature,
      maxTokens: config.ai.maxTokens,
      rateLimits: config.rateLimits,
    }),
  );
  app.use(notFound());
  app.use(errorHandler({ logger: log }));
  return app;
}
