import { createServer } from 'node:http';
import type { ServiceContext } from '@flashcase/runtime';
import { AILogger, getLogger } from '@flashcase/telemetry';
import { createApp } from './app';
import { periodsAt } from './budgets/periods';
import { spendBudgets } from './budgets/spend-budgets';
import { OpenStreams } from './concurrency/open-streams';
import { startClusterGauges } from './gauges/cluster-gauges';
import { createProvider } from './providers/create-provider';
import { genAiProviderName } from './providers/provider';
import { OrphanSweeper } from './usage/orphans';
import { loadPricing } from './usage/pricing';
import { warmTokenizer } from './usage/tokenizer';

/** ai-proxy's own start-up: pricing, provider, the cluster-wide gauges, the orphan sweeper, the app. */
export async function run({
  config,
  beforeCut,
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
  const gauges = await startClusterGauges({
    store,
    budgets,
    instruments,
    monthlyBudget: config.budgets.monthlyTicks > 0,
  });

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
  // Every call reads its report periods: the first date luxon makes loads ICU's locale and zone data
  // (about 30 ms, the event loop stalled), paid here rather than by a new replica's first calls.
  periodsAt(Date.now(), config.budgets.timeZone);
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
    gauges.stop();
    await sweeper?.close();
    await provider.close();
  });

  const openStreams = new OpenStreams();
  // The series exists (at 0) before the first stream, so the HPA's adapter sees every replica.
  instruments.aiStreamsActive.add(0);
  beforeCut(() => {
    if (openStreams.size > 0) log.warn(`Ending ${openStreams.size} streams still open at shutdown (in-band error)`);
    openStreams.endAll();
  });
  const app = createApp({
    config,
    store,
    spend,
    budgets,
    storeState: state,
    provider,
    pricing,
    instruments,
    openStreams,
  });
  const address = await listen(createServer(app));
  await telemetry.ready;
  log.info(`ai-proxy listening on http://${config.host}:${address.port}`, {
    provider: provider.name,
    model: config.ai.model,
    store: state(),
  });
}
