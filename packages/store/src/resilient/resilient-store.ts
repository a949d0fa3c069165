import { EmbeddedStore } from '../embedded/embedded-store';
import { StoreUnavailableError } from '../errors';
import { activeWindows, assertCount, assertDuration } from '../limits/validate';
import type { RedisStore } from '../redis/redis-store';
import { assertRequestStatsDelta } from '../stats/request-stats';
import type {
  BudgetDecision,
  CountersStore,
  InflightCall,
  PeriodSummary,
  PeriodUser,
  RateLimitDecision,
  RecoveredCall,
  RecoverOptions,
  RequestStats,
  RequestStatsDelta,
  TimeseriesPoint,
  UsageCounters,
  UsageRecord,
  UsageSnapshot,
  WindowLimit,
} from '../types';
import { assertUsageRecord } from '../usage/counters';
import { type FailureMode, FallbackRouter } from './fallback-router';
import { HealthGate, type StoreStateListener } from './health-gate';
import { ReplayBuffer, type WriteBufferStats } from './replay-buffer';
import { UsageBatcher } from './usage-batcher';

/** Options of {@link ResilientStore}. */
export interface ResilientStoreOptions {
  /** Default `open`. */
  failureMode?: FailureMode;
  /** Any Redis call slower than this counts as a failure (and the call falls back). Default 1000. */
  commandTimeoutMs?: number;
  /** Background ping period, while healthy (to notice an outage) and while degraded (to recover). Default 1000. */
  pingIntervalMs?: number;
  /** Counter increments kept for Redis while it is away; more are dropped and counted. Default 100 000. */
  maxBufferedWrites?: number;
  /** Where limits are enforced while degraded (fail-open). Default: a new `EmbeddedStore`. */
  fallback?: EmbeddedStore;
  /** How long `close()` may spend writing buffered increments to a Redis that came back. Default 2000. */
  closeFlushTimeoutMs?: number;
  /**
   * How long usage records wait to go to Redis together: under load one script call then carries
   * every record of that window instead of those of one event-loop turn. 0 = at the end of the
   * turn. Reads of this store and `close()` send what waits at once. Default 5.
   */
  usageFlushDelayMs?: number;
}

/**
 * The store the services use with `REDIS_URL`: a `RedisStore` with the contract's failure
 * behaviour (section 7) around it, composed of four parts:
 *
 * - `HealthGate`: a Redis call that fails or takes longer than `commandTimeoutMs` makes the store
 *   degraded (`isDegraded()`, `onStateChange`); no call waits longer than `commandTimeoutMs`. A
 *   background ping notices outages and recoveries.
 * - `FallbackRouter`: while degraded, `failureMode: 'open'` enforces `hit` / budgets on the
 *   embedded fallback (per replica); `'closed'` makes `hit` and `reserveBudget` throw
 *   `StoreUnavailableError`. Reads (`usage`, `userUsage`, `lastHourTokens`, `timeseries`,
 *   `requestStats`, the periods) throw `StoreUnavailableError` while degraded: they need the
 *   cluster-wide state.
 * - `ReplayBuffer`: in both modes, `recordUsage`, `addRequestStats` and `settleBudget` resolve at
 *   once while degraded: their increments are buffered (bounded; overflow is dropped and counted)
 *   and replayed to Redis in order once a background ping succeeds. Each carries a per-writer
 *   sequence number that the Redis scripts apply at most once, so a write whose reply was lost (it
 *   may have been applied) is not counted twice by its replay: no usage lost, none doubled. The
 *   store is healthy again only when the buffer is empty, so reads never miss replayed usage.
 * - `UsageBatcher`: usage records made within `usageFlushDelayMs` (5 ms; 0: one event-loop turn)
 *   go to Redis together, in one script call, in sequence order. `recordUsage` still resolves only
 *   once its record is applied (or buffered), so a caller that awaits it keeps "written before
 *   answered". Reads of this store send what waits at once and wait for it (read your writes), and
 *   `close()` writes it before it closes.
 *
 * Timers are unref'd; `close()` stops them, tries to write what is buffered (bounded by
 * `closeFlushTimeoutMs`), then closes both stores. Writes still buffered then are lost.
 */
export class ResilientStore implements CountersStore {
  readonly kind = 'redis' as const;
  readonly failureMode: FailureMode;

  private readonly redis: RedisStore;
  private readonly fallback: EmbeddedStore;
  private readonly closeFlushTimeoutMs: number;
  private readonly gate: HealthGate;
  private readonly router: FallbackRouter;
  private readonly buffer: ReplayBuffer;
  private readonly batcher: UsageBatcher;
  /** Until `close()`, a replay runs to the end; then only until this time. */
  private flushDeadline = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    redis: RedisStore,
    {
      failureMode = 'open',
      commandTimeoutMs = 1000,
      pingIntervalMs = 1000,
      maxBufferedWrites = 100_000,
      fallback = new EmbeddedStore(),
      closeFlushTimeoutMs = 2000,
      usageFlushDelayMs = 5,
    }: ResilientStoreOptions = {},
  ) {
    assertDuration(commandTimeoutMs, 'commandTimeoutMs');
    assertDuration(pingIntervalMs, 'pingIntervalMs');
    assertCount(maxBufferedWrites, 'maxBufferedWrites');
    assertCount(usageFlushDelayMs, 'usageFlushDelayMs');
    this.redis = redis;
    this.failureMode = failureMode;
    this.fallback = fallback;
    this.closeFlushTimeoutMs = closeFlushTimeoutMs;
    this.buffer = new ReplayBuffer(redis, maxBufferedWrites);
    const gate = new HealthGate({
      commandTimeoutMs,
      pingIntervalMs,
      ping: () => redis.ping(),
      recover: () =>
        this.buffer.drain(
          (call) => gate.bounded(call),
          () => gate.isClosed() || Date.now() > this.flushDeadline,
        ),
    });
    this.gate = gate;
    this.router = new FallbackRouter(gate, this.buffer, failureMode);
    this.batcher = new UsageBatcher(redis, gate, this.buffer, { flushDelayMs: usageFlushDelayMs });
  }

  /** True while Redis is unreachable or buffered increments are still being written back. */
  isDegraded(): boolean {
    return this.gate.isDegraded();
  }

  /**
   * Calls `listener(degraded, cause)` on every change of state (not for the current one). Returns
   * the unsubscribe function. A listener that throws is ignored.
   */
  onStateChange(listener: StoreStateListener): () => void {
    return this.gate.onStateChange(listener);
  }

  /** The write buffer's counts (lost usage shows as `dropped`). */
  bufferStats(): WriteBufferStats {
    return this.buffer.stats();
  }

  /**
   * With `begin`: on Redis the hit and the begin go in one script (standalone) or one round trip
   * (Cluster, or no window: the begin goes with the other begins of this turn). When the hit falls back
   * to the embedded store, an admitted call's begin is buffered with the other writes.
   */
  async hit(key: string, windows: WindowLimit[], begin?: InflightCall): Promise<RateLimitDecision> {
    const inline = begin !== undefined && this.redis.beginsWithHit && activeWindows(windows).length > 0;
    let onRedis = false;
    const decision = await this.router.limit(
      async () => {
        const hit = this.redis.hit(key, windows, inline ? begin : undefined);
        const separately = begin && !inline ? this.beginCall(begin) : undefined;
        const [answer] = await Promise.all([hit, separately]);
        onRedis = true;
        if (!answer.allowed && separately && begin) void this.cancelCall(begin.callId);
        return answer;
      },
      () => this.fallback.hit(key, windows),
    );
    // Fell back (degraded, or the script failed: its begin may have landed, and a second is harmless).
    if (!onRedis && decision.allowed && begin) await this.beginCall(begin);
    return decision;
  }

  async reserveBudget(
    key: string,
    reservationId: string,
    tokens: number,
    budget: number,
    windowMs: number,
  ): Promise<BudgetDecision> {
    return this.router.limit(
      () => this.redis.reserveBudget(key, reservationId, tokens, budget, windowMs),
      () => this.fallback.reserveBudget(key, reservationId, tokens, budget, windowMs),
    );
  }

  /** Settles on Redis (buffered while degraded) and on the fallback, wherever the reservation was made. */
  async settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void> {
    await this.fallback.settleBudget(key, reservationId, tokens, windowMs);
    await this.router.write({
      stream: 'settle',
      seq: this.buffer.nextSeq('settle'),
      attempts: 0,
      kind: 'settle',
      key,
      reservationId,
      tokens,
      windowMs,
    });
  }

  async recordUsage(record: UsageRecord): Promise<void> {
    assertUsageRecord(record);
    // A buffered record keeps the time it happened, so the replay lands in the right minute bucket.
    const stamped = { ...record, timestampMs: record.timestampMs ?? Date.now() };
    await this.batcher.record({ kind: 'usage', record: stamped }, { kind: 'usage', record });
  }

  /**
   * Writes the in-flight record at the end of this event-loop turn (the caller waits for it before
   * asking the upstream), with the other begins and cancels of the turn, in their own script call:
   * the usage records keep their flush window. While degraded it is buffered in order with the
   * usage records (a call's record always comes after its begin).
   */
  async beginCall(call: InflightCall): Promise<void> {
    await this.batcher.inflight({ kind: 'begin', call });
  }

  async cancelCall(callId: string): Promise<void> {
    await this.batcher.inflight({ kind: 'cancel', callId });
  }

  /** Skipped (none recovered) while degraded: the sweep needs Redis, and runs again later. */
  recoverOrphanedCalls(options: RecoverOptions): Promise<RecoveredCall[]> {
    return this.router.bestEffort(
      () => this.redis.recoverOrphanedCalls(options),
      () => [],
    );
  }

  async addRequestStats(delta: RequestStatsDelta): Promise<void> {
    assertRequestStatsDelta(delta);
    await this.router.write({ stream: 'stats', seq: this.buffer.nextSeq('stats'), attempts: 0, kind: 'stats', delta });
  }

  usage(): Promise<UsageSnapshot> {
    return this.read(() => this.redis.usage());
  }

  userUsage(userId: string): Promise<UsageSnapshot> {
    return this.read(() => this.redis.userUsage(userId));
  }

  periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    return this.read(() => this.redis.periodUsers(period, sort, limit));
  }

  scanPeriodUsers(period: string, cursor: string, count: number): Promise<{ cursor: string; users: PeriodUser[] }> {
    return this.read(() => this.redis.scanPeriodUsers(period, cursor, count));
  }

  periodUser(period: string, userId: string): Promise<UsageCounters> {
    return this.read(() => this.redis.periodUser(period, userId));
  }

  periodSummary(period: string): Promise<PeriodSummary> {
    return this.read(() => this.redis.periodSummary(period));
  }

  lastHourTokens(): Promise<number> {
    return this.read(() => this.redis.lastHourTokens());
  }

  timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    return this.read(() => this.redis.timeseries(windowMs, stepMs));
  }

  requestStats(windowS: number): Promise<RequestStats> {
    return this.read(() => this.redis.requestStats(windowS));
  }

  /** Pings Redis (bounded by the command timeout); a failure makes the store degraded and rejects. */
  async ping(): Promise<void> {
    try {
      await this.gate.bounded(this.redis.ping());
    } catch (err) {
      this.gate.fail(err);
      throw new StoreUnavailableError('redis did not answer a ping', { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.gate.stop();
    await this.batcher.written();
    if (this.buffer.length > 0) {
      this.flushDeadline = Date.now() + this.closeFlushTimeoutMs;
      await this.gate.check();
    }
    this.closed = true;
    await this.gate.close();
    await Promise.allSettled([this.fallback.close(), this.redis.close()]);
  }

  /**
   * Runs another limit check under this store's failure mode (the spend budgets): Redis when
   * healthy; the fallback (open) or a refusal (closed) otherwise.
   */
  guarded<T>(onRedis: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    return this.router.limit(onRedis, onFallback);
  }

  /** Sends the usage records that wait first (read your writes), then reads through the router. */
  private async read<T>(onRedis: () => Promise<T>): Promise<T> {
    await this.batcher.written();
    return this.router.read(onRedis);
  }
}
