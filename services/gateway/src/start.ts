import { createServer } from 'node:http';
import type { ServiceContext } from '@flashcase/runtime';
import { HttpError } from '@flashcase/telemetry';
import { createApp } from './app';
import { HmacVerifier, JwksVerifier, type Verifier } from './auth/jwt';
import { Forwarder } from './proxy/forward';
import { RequestStatsRecorder } from './stats/request-stats';

/**
 * Extra time the gateway gives ai-proxy beyond its upstream and stream idle timeouts, so ai-proxy's
 * 504 (or in-band error event) arrives first.
 */
const FORWARD_SLACK_MS = 5_000;

/** What a stream ended by this replica's shutdown tells its client to wait before retrying. */
const SHUTDOWN_RETRY_AFTER_S = 1;

/**
 * The gateway's start-up, run by main.ts once telemetry is up: opens the store, builds the JWT
 * verifier, the forwarders and the stats recorder, listens with the app, and registers their shutdown.
 */
export async function run({
  config,
  log,
  instruments,
  openStore,
  listen,
  onShutdown,
  beforeCut,
  telemetry,
}: ServiceContext): Promise<void> {
  const { store, state } = await openStore();
  const verifier: Verifier = config.auth.jwtJwksUrl
    ? new JwksVerifier(config.auth.jwtJwksUrl)
    : new HmacVerifier(config.auth.jwtSecret ?? '');
  if (config.auth.usingDevSecret) {
    log.warn('JWT_SECRET is not set: using the development-only default secret (production refuses to start so)');
  }
  const aiProxy = new Forwarder({
    target: config.urls.aiProxy,
    name: 'ai-proxy',
    internalToken: config.internalToken,
    timeoutMs: config.ai.upstreamTimeoutMs + FORWARD_SLACK_MS,
    idleTimeoutMs: Math.max(config.ai.upstreamTimeoutMs, config.ai.streamIdleTimeoutMs) + FORWARD_SLACK_MS,
    maxConnections: config.ai.proxyMaxConnections,
    onPoolFull: () => instruments.aiConcurrencyRejections.add(1, { limit: 'proxy_connections' }),
  });
  const alerting = new Forwarder({
    target: config.urls.alerting,
    name: 'alerting',
    internalToken: config.internalToken,
    timeoutMs: 10_000,
  });
  const backend = config.urls.backend
    ? new Forwarder({ target: config.urls.backend, name: 'backend', timeoutMs: 30_000 })
    : undefined;
  // The streams still relayed when the drain runs out end in-band, as ai-proxy's do: half its margin
  // before the cut, so that when both stop together ai-proxy's events are the ones relayed.
  beforeCut(() => {
    if (aiProxy.openStreams > 0)
      log.warn(`Ending ${aiProxy.openStreams} streams still open at shutdown (in-band error)`);
    aiProxy.endStreams(
      new HttpError(503, 'service_unavailable', 'This gateway replica is shutting down; retry', {
        details: { retry_after_s: SHUTDOWN_RETRY_AFTER_S },
      }),
    );
  }, 'half');
  const stats = new RequestStatsRecorder(store, log);
  onShutdown(async () => {
    await stats.close();
    await Promise.all([aiProxy.close(), alerting.close(), backend?.close()]);
  });

  const app = createApp({ config, store, storeState: state, instruments, verifier, aiProxy, alerting, backend, stats });
  const address = await listen(createServer(app));
  await telemetry.ready;
  log.info(`gateway listening on http://${config.host}:${address.port}`, {
    ai_proxy: config.urls.aiProxy,
    store: state(),
  });
}
