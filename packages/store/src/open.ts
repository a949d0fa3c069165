import { EmbeddedStore } from './embedded/embedded-store';
import { createRedisClient, whenReady } from './redis/client';
import { RedisStore } from './redis/redis-store';
import type { FailureMode } from './resilient/fallback-router';
import { ResilientStore } from './resilient/resilient-store';
import { EmbeddedSpendStore } from './spend/embedded-spend';
import { FailoverSpendStore } from './spend/failover-spend';
import { RedisSpendStore } from './spend/redis-spend';
import type { SpendStore } from './spend/types';
import type { CountersStore } from './types';

/** How a service reaches its store, as `/api/v1/health` reports it in `database`. */
export type StoreConnection = 'connected' | 'disconnected' | 'embedded';

export interface OpenStoreOptions {
  /** `REDIS_URL`; with no URL and no cluster nodes the embedded store is used. */
  url?: string | undefined;
  /** `REDIS_CLUSTER_NODES`. */
  clusterNodes?: readonly string[];
  keyPrefix: string;
  failureMode: FailureMode;
  /** `REDIS_STORE_TIMEOUT_MS`: no store call waits longer. */
  commandTimeoutMs: number;
  /** Told `true` when Redis goes away, `false` when it is back and the buffer is written. */
  onStateChange?: (degraded: boolean) => void;
}

export interface StoreHandle {
  store: CountersStore;
  /** The spend budgets, on the same Redis (or in memory) and under the same failure mode. */
  spend: SpendStore;
  state(): StoreConnection;
  /**
   * Resolves once the first connection is up, or after `timeoutMs` (Redis down at start-up: the
   * service then starts degraded). Await it before the first store call, which would otherwise
   * fail fast and flag an outage that is only a connection still opening.
   */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * The store a service runs on: the embedded one when neither `REDIS_URL` nor
 * `REDIS_CLUSTER_NODES` is set, else Redis (or Redis Cluster) behind the resilient wrapper (the
 * contract's degraded mode). Redis may be down at start-up: the service starts degraded.
 */
export function openStore(options: OpenStoreOptions): StoreHandle {
  const clusterNodes = options.clusterNodes ?? [];
  if (!options.url && clusterNodes.length === 0) {
    const store = new EmbeddedStore();
    return { store, spend: new EmbeddedSpendStore(), state: () => 'embedded', ready: async () => {} };
  }
  const client = createRedisClient({
    ...(options.url ? { url: options.url } : {}),
    clusterNodes,
    commandTimeoutMs: options.commandTimeoutMs,
  });
  const store = new ResilientStore(new RedisStore(client, { keyPrefix: options.keyPrefix }), {
    failureMode: options.failureMode,
    commandTimeoutMs: options.commandTimeoutMs,
  });
  if (options.onStateChange) store.onStateChange((degraded) => options.onStateChange?.(degraded));
  const spend = new FailoverSpendStore(
    new RedisSpendStore(client, options.keyPrefix),
    new EmbeddedSpendStore(),
    (onRedis, onFallback) => store.guarded(onRedis, onFallback),
  );
  return {
    store,
    spend,
    state: () => (store.isDegraded() ? 'disconnected' : 'connected'),
    ready: (timeoutMs = 2_000) => whenReady(client, timeoutMs),
  };
}
