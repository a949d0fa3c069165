import { createServer } from 'node:http';
import type { Config } from '@flashcase/config';
import type { ServiceContext } from '@flashcase/runtime';
import { AILogger, getLogger } from '@flashcase/telemetry';
import { createApp } from './app';
import { spendBudgets } from './budgets/spend-budgets';
import { OpenAICompatibleProvider } from './providers/openai-compatible';
import { SimulatedProvider } from './providers/simulated';
import { genAiProviderName, type Provider } from './providers/types';
import { OrphanSweeper } from './usage/orphans';
import { loadPricing } from './usage/pricing';
import { warmTokenizer } from './usage/tokenizer';

const GAUGE_REFRESH_MS = 5_000;

function createProvider(config: Config): Provider {
  if (config.ai.provider === 'simulated') return new SimulatedProvider(config.ai.simulatedLatencyMs);
  return new OpenAICompatibleProvider({
    baseUrl: config.ai.baseUrl,
    apiKey: config.ai.apiKey ?? '',
    timeoutMs: config.ai.upstreamTimeoutMs,
    streamIdleTimeoutMs: config.ai.streamIdleTimeoutMs,
    maxConnections: config.ai.upstreamMaxConnections,
  });
}

/** ai-proxy's own start-up: pricing, provider, the cluster-wide gauge, the app. */
export async function run({
  config,
  log,
  instruments,
  openStore,
  listen,
  onShutdown,
  telemetry,
}: ServiceContext): Promise<void> {
  const pricing = loadPricing(config.ai.pricingFile);
  const { store, spend, state } = await openStore();

  const budgets = spendBudgets(config, spend, instruments);
  let lastHourTokens: number | undefined;
  let monthly: { spentUsd: number; limitUsd: number | null } | undefined;
  const refresh = async () => {
    lastHourTokens = await store.lastHourTokens().catch(() => lastHourTokens);
    // the gauges matter only against a monthly budget: no store read without one
    if (config.budgets.monthlyTicks > 0) {
      const [status] = await budgets.status(undefined).catch(() => []);
      if (status) monthly = { spentUsd: status.spent_usd, limitUsd: status.limit_usd };
    }
  };
  await refresh();
  const refresher = setInterval(refresh, GAUGE_REFRESH_MS).unref();
  instruments.setTokensLastHourSource(() => lastHourTokens);
  instruments.setMonthlyBudgetSource(() => monthly);

  const provider = createProvider(config);
  if (provider.name === 'simulated') {
    log.warn('AI_PROVIDER=simulated: answers come from the built-in simulator, not an LLM');
  } else if (!config.ai.configured) {
    log.warn('AI_PROVIDER=xai without XAI_API_KEY: AI calls will answer 503 ai_not_configured');
  }
  // The tokenizer (o200k ranks, about 70 MB resident) is only needed for budget reservations, the
  // simulator's prompt counts and streams cut short: load it now when every call needs it (a token
  // budget, the simulator); otherwise the first estimate loads it (about 0.25 s, once).
  const dollars = config.budgets;
  const spendLimited = dollars.userDailyTicks > 0 || dollars.userMonthlyTicks > 0 || dollars.monthlyTicks > 0;
  if (config.ai.tokenBudgetPerUserPerHour > 0 || spendLimited || provider.name === 'simulated') warmTokenizer();
  // Counts the in-flight calls of replicas that died (Redis only: the embedded store dies with us).
  const sweeper =
    store.kind === 'redis' && config.tokens.trackingEnabled
      ? new OrphanSweeper({
          store,
          instruments,
          aiLogger: new AILogger(getLogger('ai-proxy.usage')),
          log: getLogger('ai-proxy.recovery'),
          providerName: genAiProviderName(provider),
          staleAfterMs: config.ai.inflightStaleMs,
        })
      : undefined;
  onShutdown(async () => {
    clearInterval(refresher);
    await sweeper?.close();
    await provider.close();
  });

  const app = createApp({ config, store, spend, budgets, storeState: state, provider, pricing, instruments });
  const address = await listen(createServer(app));
  await telemetry.ready;
  log.info(`ai-proxy listening on http://${config.host}:${address.port}`, {
    provider: provider.name,
    model: config.ai.model,
    store: state(),
  });
}
