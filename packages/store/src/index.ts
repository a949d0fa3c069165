/**
 * `@flashcase/store`: the shared counters store (rate limits, token budgets, usage counters,
 * gateway request stats) on Redis or embedded, and the resilient wrapper the services use.
 *
 * @packageDocumentation
 */

export { EmbeddedAlertStateStore, type EmbeddedAlertStateStoreOptions } from './alerting/embedded';
export {
  type AlertStateStoreHandle,
  type OpenAlertStateStoreOptions,
  openAlertStateStore,
} from './alerting/open';
export { RedisAlertStateStore, type RedisAlertStateStoreOptions } from './alerting/redis';
/** The alerting service's shared state: an evaluator lease and JSON documents by kind (see each doc). */
export type {
  AlertStateStore,
  AlertStateStoreKind,
  PutDocumentOptions,
  StoredDocument,
} from './alerting/types';
export type { EmbeddedStoreOptions } from './embedded/embedded-store';
/**
 * The in-process store (no `REDIS_URL`): exact and atomic within one process, per replica only.
 * Takes an optional clock (`now`) for tests; expired entries are pruned on access and by an unref'd
 * timer (minute buckets 25 h, per-user minute buckets 2 h).
 */
export { EmbeddedStore } from './embedded/embedded-store';
/**
 * Thrown when the shared store cannot answer: reads while degraded, limit checks in
 * `REDIS_FAILURE_MODE=closed`, `ResilientStore.ping()` failures. `code` is `store_unavailable`.
 */
export { StoreUnavailableError } from './errors';
/**
 * The store a service runs on, from its config: embedded without REDIS_URL/REDIS_CLUSTER_NODES,
 * else Redis behind `ResilientStore`; `state()` is what `/api/v1/health` reports as `database`.
 */
export { type OpenStoreOptions, openStore, type StoreConnection, type StoreHandle } from './open';
export type { RedisClientOptions } from './redis/client';
/**
 * A fail-fast ioredis client (no offline queue, command timeout, one retry, background
 * reconnects) for `REDIS_URL` or `REDIS_CLUSTER_NODES`. Calls before the first connection fail fast.
 */
export { createRedisClient } from './redis/client';
/**
 * Every key the Redis store writes, under the key prefix, hash-tagged per concern (`{u:<key>}`,
 * `{usage}`, `{reqstats}`). The prefix may not contain braces (RangeError).
 */
export { DEFAULT_KEY_PREFIX, KeySpace } from './redis/keys';
export type { RedisStoreOptions } from './redis/redis-store';
/**
 * The Redis (or Cluster) store: one Lua script per call, server time, Cluster safe. Client errors
 * are thrown as they are; use `ResilientStore` for the contract's failure modes.
 */
export { RedisStore } from './redis/redis-store';
export { RedisUsageAudit, type StoredUsage, type UsageTarget } from './redis/usage-audit';
/**
 * Reads and restores the running usage counters (totals and per user hashes) for an audit
 * (`pnpm reconcile`); restores add the difference in one script, so they are idempotent.
 */
export type { UsageEntry } from './redis/usage-batch';
export type { WriteSequence } from './redis/write-sequence';
export type { FailureMode } from './resilient/fallback-router';
export type { StoreStateListener } from './resilient/health-gate';
export type { WriteBufferStats } from './resilient/replay-buffer';
export type { ResilientStoreOptions } from './resilient/resilient-store';
/**
 * `RedisStore` plus the contract's failure behaviour: degraded state, fail-open (embedded limits) or
 * fail-closed, buffered counter increments replayed exactly once, reads refused while degraded.
 */
export { ResilientStore } from './resilient/resilient-store';
export { EmbeddedSpendStore } from './spend/embedded-spend';
export { FailoverSpendStore } from './spend/failover-spend';
export { RedisSpendStore } from './spend/redis-spend';
export type {
  BudgetOverride,
  BudgetState,
  BudgetUsage,
  OverridePeriod,
  SpendBudget,
  SpendDecision,
  SpendHold,
  SpendStore,
} from './spend/types';
/**
 * Latency bucket upper bounds (s) for `RequestStatsDelta.latencyBuckets`, last one +Inf;
 * `latencyBucketIndex(seconds)` picks the bucket; `quantileFromBuckets(counts, q)` interpolates like
 * Prometheus' `histogram_quantile` (0 when empty, the largest finite bound for the +Inf bucket,
 * RangeError for q outside [0, 1]).
 */
export { LATENCY_BUCKETS_S, latencyBucketIndex, quantileFromBuckets } from './stats/latency';
/** Bucket granularity (one minute) and retentions: cluster-wide 25 h, per user 2 h. */
export { GLOBAL_BUCKET_RETENTION_MS, MINUTE_MS, USER_BUCKET_RETENTION_MS } from './time';
/** The store interface and its values (see each type's doc). */
export type {
  BilledCost,
  BudgetDecision,
  CountersStore,
  InflightCall,
  PeriodSummary,
  PeriodUser,
  PricingCheck,
  RateLimitDecision,
  RecoveredCall,
  RecoverOptions,
  RequestStats,
  RequestStatsDelta,
  StoreKind,
  TimeseriesPoint,
  UsageCounters,
  UsagePeriods,
  UsageRecord,
  UsageSnapshot,
  WindowLimit,
} from './types';
/** Zeroed usage counters and pricing checks, a new object each call (safe to mutate); `addCounters` sums into the first. */
export { addCounters, emptyCounters, emptyPricingCheck } from './usage/counters';
/**
 * The usage hashes' fields as integer maps: `addLedgerCall` adds what the usage script adds for one
 * call, `fieldsFromHash` reads an `HGETALL` (legacy micros as ticks), `diffFields` is want - have,
 * `countersOfFields` gives the totals, per-operation and per-model counters and the pricing check.
 */
export {
  addLedgerCall,
  countersOfFields,
  diffFields,
  fieldsFromHash,
  type LedgerCall,
  type UsageFields,
} from './usage/ledger';
/** Report period labels: RangeError unless `h<yyyy-MM-ddTHH>`, `d<yyyy-MM-dd>` or `m<yyyy-MM>`. */
export { assertPeriod, assertPeriods } from './usage/periods';
