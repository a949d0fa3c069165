import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  /** `redis://` or `rediss://` URL (`REDIS_URL`); default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * Cluster seed nodes (`REDIS_CLUSTER_NODES`): `host:port` or `redis[s]://[user:pass@]host:port`.
   * When non-empty a `Cluster` client is built; credentials and TLS come from the first node URL
   * that has them, else from `url`.
   */
  clusterNodes?: readonly string[];
  /** A command with no reply after this many ms is rejected (`commandTimeout`). */
  commandTimeoutMs: number;
  /** Connect timeout per attempt; default `max(commandTimeoutMs, 1000)`. */
  connectTimeoutMs?: number;
  /** `CLIENT SETNAME`, to tell replicas apart in `CLIENT LIST`. */
  connectionName?: string;
  /** Connection errors (the client emits many while Redis is away); default: ignored. */
  onError?: (err: Error) => void;
}

/** Reconnect delay: 50 ms doubling up to 2 s, forever (reconnects go on in the background). */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

function parseNode(spec: string): { node: ClusterNode; auth: Pick<RedisOptions, 'username' | 'password' | 'tls'> } {
  const url = new URL(spec.includes('://') ? spec : `redis://${spec}`);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RangeError(`cluster node must be host:port or a redis:// URL, got ${spec}`);
  }
  const auth: Pick<RedisOptions, 'username' | 'password' | 'tls'> = {};
  if (url.username) auth.username = decodeURIComponent(url.username);
  if (url.password) auth.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') auth.tls = {};
  return { node: { host: url.hostname, port: Number(url.port || 6379) }, auth };
}

/**
 * A Redis (or Redis Cluster) client that fails fast instead of queueing: no offline queue (a
 * command while disconnected is rejected at once), one retry per request, `commandTimeout` on
 * every command, in-flight commands not re-sent after a reconnect (a rate-limit hit must not be
 * counted minutes later), and reconnects that go on in the background forever. The services wrap
 * the store built on it in a `ResilientStore`, which turns those fast failures into the contract's
 * degraded mode.
 *
 * Edge cases: connects at once (not lazily): calls made before the first `ready` fail fast, so await
 * `store.ping()` at start-up; `rediss://` enables TLS; a malformed URL or node throws here.
 */
export function createRedisClient({
  url,
  clusterNodes = [],
  commandTimeoutMs,
  connectTimeoutMs = Math.max(commandTimeoutMs, 1000),
  connectionName,
  onError = () => undefined,
}: RedisClientOptions): Redis | Cluster {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelay,
    ...(connectionName ? { connectionName } : {}),
  };
  let client: Redis | Cluster;
  if (clusterNodes.length > 0) {
    const nodes = clusterNodes.map(parseNode);
    const fromUrl = url ? parseNode(url).auth : {};
    const auth = nodes.find((n) => n.auth.password || n.auth.tls)?.auth ?? fromUrl;
    client = new Cluster(
      nodes.map((n) => n.node),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        redisOptions: { ...common, ...auth },
      },
    );
  } else {
    // Commands issued in one event-loop turn (the budget checks of every request that arrived in
    // it) leave in one write: a write per command was ai-proxy's dearest system call under load.
    // NOTE: not on a Cluster: ioredis 6 then pipelines scripts of users whose keys hash to
    // different slots of one node and refuses the pipeline ("same slots allocation group").
    client = new Redis(url ?? 'redis://127.0.0.1:6379', { ...common, enableAutoPipelining: true });
  }
  client.on('error', onError);
  return client;
}

/**
 * Resolves once `client` is connected and ready, or after `timeoutMs` (Redis down at start-up: the
 * caller then starts degraded rather than failing the first call as an outage).
 */
export function whenReady(client: Redis | Cluster, timeoutMs = 2_000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (client.status === 'ready') return resolve();
    const timer = setTimeout(done, timeoutMs).unref();
    function done() {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
    client.once('ready', done);
  });
}
