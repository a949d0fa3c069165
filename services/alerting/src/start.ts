import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import type { ServiceContext } from '@flashcase/runtime';
import { createApp } from './app';
import { DailyDigest, DIGEST_ROUTE } from './digest/daily-digest';
import { Evaluator } from './engine/evaluator';
import { EvaluationLoop, leaseTtlMs } from './engine/loop';
import { Dispatcher } from './notify/dispatcher';
import { channelsFromConfig } from './notify/from-config';
import { loadRules } from './rules/load';
import { HttpSignalReader } from './signals/http-reader';
import { AlertRepository } from './state/repository';

/**
 * alerting's own start-up (the runtime's `ServiceModule.run`): rules, the shared state, signals,
 * channels, the evaluation loop and the app, then listening.
 */
export async function run({
  config,
  log,
  instruments,
  listen,
  onShutdown,
  openAlertStore,
  telemetry,
}: ServiceContext): Promise<void> {
  const rules = loadRules(config);
  const replicaId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  // The runtime opens it from REDIS_URL / REDIS_CLUSTER_NODES, wires the degraded gauge and closes
  // it on shutdown after the tasks registered below.
  const handle = await openAlertStore();
  const repository = new AlertRepository(handle.store);

  const evalIntervalMs = config.alerts.evalIntervalS * 1000;
  const signals = new HttpSignalReader({
    gatewayUrl: config.urls.gateway,
    aiProxyUrl: config.urls.aiProxy,
    internalToken: config.internalToken,
    jwtSecret: config.auth.jwtJwksUrl ? undefined : config.auth.jwtSecret,
    // One interval, within 2.5-5 s: short enough to keep up, long enough for a busy host.
    timeoutMs: Math.min(Math.max(evalIntervalMs, 2_500), 5_000),
  });
  const channels = channelsFromConfig(config.alerts);
  const dispatcher = new Dispatcher({ channels, log, instruments });
  let loop: EvaluationLoop | undefined;
  const evaluator = new Evaluator({
    rules,
    repository,
    signals,
    notifier: dispatcher,
    timers: {
      groupWaitMs: config.alerts.groupWaitS * 1000,
      groupIntervalMs: config.alerts.groupIntervalS * 1000,
      repeatIntervalMs: config.alerts.repeatIntervalS * 1000,
    },
    healthIntervalMs: config.alerts.healthCheckIntervalS * 1000,
    evalIntervalMs,
    log,
    confirmLeadership: () => loop?.confirmLeadership() ?? Promise.resolve(false),
  });
  const digest = new DailyDigest({
    hour: config.alerts.usageDigestHour,
    timeZone: config.budgets.timeZone,
    repository,
    source: signals,
    sender: dispatcher,
    replicaId,
    log,
    confirmLeadership: () => loop?.confirmLeadership() ?? Promise.resolve(false),
  });
  loop = new EvaluationLoop({
    store: handle.store,
    repository,
    evaluator,
    replicaId,
    intervalMs: evalIntervalMs,
    log,
    leaderTasks: [digest],
  });
  const running = loop;
  instruments.setAlertsFiringSource(() => {
    const counts = new Map<string, { alertname: string; severity: string; value: number }>();
    for (const rule of rules) {
      counts.set(rule.name, { alertname: rule.name, severity: rule.severity, value: 0 });
    }
    for (const alert of running.snapshot()) {
      if (alert.state !== 'firing') continue;
      const entry = counts.get(alert.name) ?? { alertname: alert.name, severity: alert.severity, value: 0 };
      entry.value += 1;
      counts.set(alert.name, entry);
    }
    return [...counts.values()];
  });

  onShutdown(async () => {
    await running.stop();
    await dispatcher.close();
    await signals.close();
  });

  const app = createApp({
    config,
    repository,
    rules,
    storeState: handle.state,
    instruments,
    loopStatus: () => running.status(),
  });
  const address = await listen(createServer(app));
  running.start();
  await telemetry.ready;
  log.info(`alerting listening on http://${config.host}:${address.port}`, {
    replica: replicaId,
    store: handle.state(),
    rules: rules.map((r) => r.name),
    channels: channels.map((c) => c.name),
    lease_ttl_ms: leaseTtlMs(evalIntervalMs),
    usage_digest:
      config.alerts.usageDigestHour === null
        ? 'off'
        : `${String(config.alerts.usageDigestHour).padStart(2, '0')}:00 ${config.budgets.timeZone}`,
  });
  if (config.alerts.usageDigestHour !== null && dispatcher.configured(DIGEST_ROUTE).length === 0) {
    log.info('USAGE_DIGEST_HOUR is set, but neither SLACK_WEBHOOK_URL nor SMTP_URL + ALERT_EMAIL: no digest is sent');
  }
  if (channels.length === 0)
    log.warn('No notification channel is configured (SLACK_WEBHOOK_URL, SMTP_URL + ALERT_EMAIL, ALERT_WEBHOOK_URL)');
}
