import type { StoreConnection } from '../open';
import { createRedisClient, whenReady } from '../redis/client';
import { EmbeddedAlertStateStore } from './embedded';
import { RedisAlertStateStore } from './redis';
import type { AlertStateStore } from './types';

/** Options of {@link openAlertStateStore}: the same variables as the counters store. */
export interface OpenAlertStateStoreOptions {
  /** `REDIS_URL`; with no URL and no cluster nodes the embedded store is used. */
  url?: string | undefined;
  /** `REDIS_CLUSTER_NODES`. */
  clusterNodes?: readonly string[];
  keyPrefix: string;
  /** `REDIS_STORE_TIMEOUT_MS`: no store call waits longer. */
  commandTimeoutMs: number;
  /** `CLIENT SETNAME`, to tell replicas apart. */
  connectionName?: string;
}

/** What {@link openAlertStateStore} returns. */
export interface AlertStateStoreHandle {
  store: AlertStateStore;
  /** `embedded`, or whether the Redis client is connected right now (health's `database`). */
  state(): StoreConnection;
  /** Resolves once the first connection is up, or after `timeoutMs` (Redis down at start-up). */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * The alerting service's shared state, mirroring `openStore`: embedded when neither `REDIS_URL` nor
 * `REDIS_CLUSTER_NODES` is set (one replica only), else Redis (or Cluster) through the same
 * fail-fast client as the counters store. There is no buffering wrapper: alert state is not a
 * counter, so while Redis is away calls fail and the alerting service waits (it holds no lease).
 */
export function openAlertStateStore(options: OpenAlertStateStoreOptions): AlertStateStoreHandle {
  const clusterNodes = options.clusterNodes ?? [];
  if (!options.url && clusterNodes.length === 0) {
    const store = new EmbeddedAlertStateStore();
    return { store, state: () => 'embedded', ready: async () => {} };
  }
  const client = createRedisClient({
    ...(options.url ? { url: options.url } : {}),
    clusterNodes,
    commandTimeoutMs: options.commandTimeoutMs,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  });
  const store = new RedisAlertStateStore(client, { keyPrefix: options.keyPrefix });
  return {
    store,
    state: () => (client.status === 'ready' ? 'connected' : 'disconnected'),
    ready: (timeoutMs = 2_000) => whenReady(client, timeoutMs),
  };
}
