import type { Config } from '@flashcase/config';
import { OpenAICompatibleProvider } from './openai-compatible';
import type { Provider } from './provider';
import { SimulatedProvider } from './simulated';

/**
 * The provider `AI_PROVIDER` names: the built-in simulator (`simulated`, answering after
 * `AI_SIMULATED_LATENCY_MS`), else the OpenAI-compatible upstream at `XAI_BASE_URL`. An `xai`
 * provider is made even without `XAI_API_KEY` (with an empty key): the routes answer 503
 * `ai_not_configured` before any call reaches it.
 */
export function createProvider(config: Config): Provider {
  if (config.ai.provider === 'simulated') return new SimulatedProvider(config.ai.simulatedLatencyMs);
  return new OpenAICompatibleProvider({
    baseUrl: config.ai.baseUrl,
    apiKey: config.ai.apiKey ?? '',
    timeoutMs: config.ai.upstreamTimeoutMs,
    streamIdleTimeoutMs: config.ai.streamIdleTimeoutMs,
    maxConnections: config.ai.upstreamMaxConnections,
  });
}
