import type { Config, ServiceName } from '@flashcase/config';
import type { AlertStateStore, CountersStore, SpendStore } from '@flashcase/store';
import type { Instruments, Logger, StoreState } from '@flashcase/telemetry';

/** The counters store a service runs on (`ServiceContext.openStore()`). */
export interface CountersStoreHandle {
  store: CountersStore;
  spend: SpendStore;
  /** What `/api/v1/health` reports as `database`. */
  state: () => StoreState;
}

/** The alerting service's shared state store (`ServiceContext.openAlertStore()`). */
export interface AlertStoreHandle {
  store: AlertStateStore;
  /** What `/api/v1/health` reports as `database`. */
  state: () => StoreState;
}

/** What opening a store needs from the service's context. */
export interface StoreDeps {
  service: ServiceName;
  config: Config;
  log: Logger;
  instruments: Instruments;
  /** Registers the store's `close()`, run on shutdown after the tasks registered later. */
  onShutdown(task: () => Promise<void> | void): void;
}

/**
 * Opens the counters store from REDIS_URL / REDIS_CLUSTER_NODES (embedded without them), wires the
 * `flashcase.store.degraded` gauge to it and registers its `close()` for shutdown. Resolves once
 * its first connection is up, or after 2 s, degraded, when Redis is down at start-up.
 */
export function openCountersStore({ config, log, instruments, onShutdown }: StoreDeps): Promise<CountersStoreHandle> {
  // `require` here, not at the top: loaded after the SDK so ioredis is instrumented.
  const { openStore } = require('@flashcase/store') as typeof import('@flashcase/store');
  const handle = openStore({
    url: config.redis.url,
    clusterNodes: config.redis.clusterNodes,
    keyPrefix: config.redis.keyPrefix,
    failureMode: config.redis.failureMode,
    commandTimeoutMs: config.redis.storeTimeoutMs,
    onStateChange: (degraded) =>
      degraded
        ? log.error('Counters store unreachable: limits hold per replica and counter increments are buffered')
        : log.warn('Counters store reachable again: buffered increments written'),
  });
  instruments.setStoreDegradedSource(() => (handle.state() === 'disconnected' ? 1 : 0));
  if (handle.state() === 'embedded') {
    log.warn(
      'REDIS_URL is not set: using the embedded in-process store (one process only; limits do not span replicas)',
    );
  }
  onShutdown(() => handle.store.close());
  return handle.ready().then(() => handle);
}

/**
 * Opens the alerting service's shared state (evaluator lease, alerts, groups, silences, the
 * notification log) from the same variables as the counters store: embedded without REDIS_URL /
 * REDIS_CLUSTER_NODES (one alerting replica only), else Redis with the connection named
 * `flashcase-<service>:<pid>` so replicas can be told apart in `CLIENT LIST`. Wires the
 * `flashcase.store.degraded` gauge to it and registers its `close()` for shutdown. Resolves once
 * its first connection is up, or after 2 s when Redis is down at start-up (its calls then fail
 * until Redis is back: alert state is not buffered).
 */
export function openAlertStateStore({
  service,
  config,
  log,
  instruments,
  onShutdown,
}: StoreDeps): Promise<AlertStoreHandle> {
  // `require` here, not at the top: loaded after the SDK so ioredis is instrumented.
  const { openAlertStateStore: open } = require('@flashcase/store') as typeof import('@flashcase/store');
  const handle = open({
    url: config.redis.url,
    clusterNodes: config.redis.clusterNodes,
    keyPrefix: config.redis.keyPrefix,
    commandTimeoutMs: config.redis.storeTimeoutMs,
    connectionName: `flashcase-${service}:${process.pid}`,
  });
  instruments.setStoreDegradedSource(() => (handle.state() === 'disconnected' ? 1 : 0));
  if (handle.state() === 'embedded') {
    log.warn('REDIS_URL is not set: alert state is kept in this process (one alerting replica only)');
  }
  onShutdown(() => handle.store.close());
  return handle.ready().then(() => ({ store: handle.store, state: handle.state }));
}
