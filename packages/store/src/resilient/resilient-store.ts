import { EmbeddedStore } from '../embedded/embedded-store';
import { StoreUnavailableError } from '../errors';
import { activeWindows, assertCount, assertDuration } from '../limits/validate';
import type { RedisStore } from '../redis/redis-store';
import type { UsageEntry } from '../redis/usage-batch';
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
import { type Sequenced, WriteBuffer } from './write-buffer';

/** `REDIS_FAILURE_MODE`: keep serving on per-replica limits (`open`) or refuse (`closed`) while Redis is away. */
export type FailureMode = 'open' | 'closed';

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

/** Listener of {@link ResilientStore.onStateChange}. */
export type StoreStateListener = (degraded: boolean, cause?: unknown) => void;

/** Counts of the write buffer, for logs and health checks. */
export interface WriteBufferStats {
  /** Increments waiting for Redis. */
  buffered: number;
  /** Increments refused because the buffer was full (lost usage). */
  dropped: number;
  /** Increments written to Redis by a replay. */
  replayed: number;
}

type BufferedWrite = Sequenced & { attempts: number } & (
    | { kind: 'usage'; entry: UsageEntry }
    | { kind: 'stats'; delta: RequestStatsDelta }
    | { kind: 'settle'; key: string; reservationId: string; tokens: number; windowMs: number }
  );

type UsageWrite = Extract<BufferedWrite, { kind: 'usage' }>;

/** A usage entry waiting for its flush: as buffered, as sent now, and its caller's resolver. */
type Queued = { write: UsageWrite; direct: UsageEntry; done: () => void };

/** The writer sequence a usage entry is sent with: begins and cancels (stream `inflight`) need none. */
function sentSeq(write: UsageWrite): number {
  return write.stream === 'usage' ? write.seq : 0;
}

/** Usage writes replayed per script call: one round trip (and one AOF fsync) for many records. */
const REPLAY_BATCH = 200;

/** Most usage records sent in one script call by the live path (larger flushes send several calls). */
const LIVE_BATCH = 200;

/** A replayed write refused by the server itself this many times (not a connection problem) is dropped. */
const MAX_REPLAY_ATTEMPTS = 5;

function isServerError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * The store the services use with `REDIS_URL`: a `RedisStore` with the contract's failure
 * behaviour (section 7) around it.
 *
 * - A Redis call that fails or takes longer than `commandTimeoutMs` makes the store degraded
 *   (`isDegraded()`, `onStateChange`); no call waits longer than `commandTimeoutMs`.
 * - While degraded, `failureMode: 'open'` enforces `hit` / budgets on the embedded fallback (per
 *   replica); `'closed'` makes `hit` and `reserveBudget` throw `StoreUnavailableError`.
 * - In both modes, `recordUsage`, `addRequestStats` and `settleBudget` resolve at once while degraded:
 *   their increments are buffered (bounded; overflow is dropped and counted) and replayed to Redis in
 *   order once a background ping succeeds. Each carries a per-writer sequence number that the Redis
 *   scripts apply at most once, so a write whose reply was lost (it may have been applied) is not
 *   counted twice by its replay: no usage lost, none doubled.
 * - Reads (`usage`, `userUsage`, `lastHourTokens`, `timeseries`, `requestStats`) throw
 *   `StoreUnavailableError` while degraded: they need the cluster-wide state.
 * - The store is healthy again only when the buffer is empty, so reads never miss replayed usage.
 * - Usage records made within `usageFlushDelayMs` (5 ms; 0: one event-loop turn) go to Redis
 *   together, in one script call (one round trip, one ioredis span), in sequence order: under load
 *   one call carries many requests' usage. `recordUsage` still resolves only once its record is
 *   applied (or buffered), so a caller that awaits it keeps "written before answered"; one that
 *   does not has its write in flight within the delay. Reads of this store send what waits at once
 *   and wait for it (read your writes), and `close()` writes it before it closes.
 *
 * Timers are unref'd; `close()` stops them, tries to write what is buffered (bounded by
 * `closeFlushTimeoutMs`), then closes both stores. Writes still buffered then are lost.
 */
export class ResilientStore implements CountersStore {
  readonly kind = 'redis' as const;
  readonly failureMode: FailureMode;

  private readonly redis: RedisStore;
  private readonly fallback: EmbeddedStore;
  private readonly commandTimeoutMs: number;
  private readonly closeFlushTimeoutMs: number;
  private readonly buffer: WriteBuffer<BufferedWrite>;
  private readonly listeners = new Set<StoreStateListener>();
  private readonly timer: NodeJS.Timeout;
  private readonly seqs = { usage: 0, stats: 0, settle: 0, inflight: 0 };
  private degraded = false;
  private closed = false;
  private replayed = 0;
  /** Direct (unbuffered) writes still waiting for Redis: a replay waits for them to settle. */
  private inflightWrites = 0;
  private checking: Promise<void> | undefined;
  private flushDeadline = Number.POSITIVE_INFINITY;
  private readonly usageFlushDelayMs: number;
  /** Usage records waiting for the scheduled flush (counted in `inflightWrites`). */
  private usageQueue: Queued[] = [];
  /** Begins and cancels waiting for the end of this turn (counted in `inflightWrites`). */
  private inflightQueue: Queued[] = [];
  /** Settles when the queued records (the scheduled flush) are applied or buffered. */
  private usageFlush: Promise<void> | undefined;
  /** Runs the scheduled flush now (a read or `close()` will not wait for the timer). */
  private usageFlushNow: (() => void) | undefined;
  /** Settles when every usage write flushed so far is applied or buffered. */
  private usageSent: Promise<void> = Promise.resolve();

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
    this.usageFlushDelayMs = usageFlushDelayMs;
    this.redis = redis;
    this.failureMode = failureMode;
    this.fallback = fallback;
    this.commandTimeoutMs = commandTimeoutMs;
    this.closeFlushTimeoutMs = closeFlushTimeoutMs;
    this.buffer = new WriteBuffer(maxBufferedWrites);
    this.timer = setInterval(() => void this.check(), pingIntervalMs);
    this.timer.unref();
  }

  /** True while Redis is unreachable or buffered increments are still being written back. */
  isDegraded(): boolean {
    return this.degraded;
  }

  /**
   * Calls `listener(degraded, cause)` on every change of state (not for the current one). Returns
   * the unsubscribe function. A listener that throws is ignored.
   */
  onStateChange(listener: StoreStateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The write buffer's counts (lost usage shows as `dropped`). */
  bufferStats(): WriteBufferStats {
    return { buffered: this.buffer.length, dropped: this.buffer.dropped, replayed: this.replayed };
  }

  /**
   * With `begin`: on Redis the hit and the begin go in one script (standalone) or one round trip
   * (Cluster, or no window: the begin goes with the other begins of this turn). When the hit falls back
   * to the embedded store, an admitted call's begin is buffered with the other writes.
   */
  async hit(key: string, windows: WindowLimit[], begin?: InflightCall): Promise<RateLimitDecision> {
    const inline = begin !== undefined && this.redis.beginsWithHit && activeWindows(windows).length > 0;
    let onRedis = false;
    const decision = await this.limit(
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
    return this.limit(
      () => this.redis.reserveBudget(key, reservationId, tokens, budget, windowMs),
      () => this.fallback.reserveBudget(key, reservationId, tokens, budget, windowMs),
    );
  }

  /** Settles on Redis (buffered while degraded) and on the fallback, wherever the reservation was made. */
  async settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void> {
    await this.fallback.settleBudget(key, reservationId, tokens, windowMs);
    await this.write({
      stream: 'settle',
      seq: ++this.seqs.settle,
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
    await this.enqueue({ kind: 'usage', record: stamped }, { kind: 'usage', record });
  }

  /**
   * Writes the in-flight record at the end of this event-loop turn (the caller waits for it before
   * asking the upstream), with the other begins and cancels of the turn, in their own script call:
   * the usage records keep their flush window. Begins and cancels are idempotent (set and delete
   * one field), so they need no write sequence; while degraded they are buffered in order with the
   * usage records (a call's record always comes after its begin).
   */
  async beginCall(call: InflightCall): Promise<void> {
    await this.inflight({ kind: 'begin', call });
  }

  async cancelCall(callId: string): Promise<void> {
    await this.inflight({ kind: 'cancel', callId });
  }

  private async inflight(entry: UsageEntry): Promise<void> {
    const write: UsageWrite = { stream: 'inflight', seq: ++this.seqs.inflight, attempts: 0, kind: 'usage', entry };
    if (this.degraded) {
      this.buffer.insert(write);
      return;
    }
    this.inflightWrites++;
    await new Promise<void>((done) => {
      this.inflightQueue.push({ write, direct: entry, done });
      if (this.inflightQueue.length === 1) setImmediate(() => void this.flushInflight());
    });
  }

  /** Sends the queued begins and cancels in one script call (buffered when Redis fails). */
  private async flushInflight(): Promise<void> {
    const queue = this.inflightQueue;
    this.inflightQueue = [];
    await this.send(queue);
  }

  /** Skipped (none recovered) while degraded: the sweep needs Redis, and runs again later. */
  async recoverOrphanedCalls(options: RecoverOptions): Promise<RecoveredCall[]> {
    if (this.degraded) return [];
    try {
      return await this.bounded(this.redis.recoverOrphanedCalls(options));
    } catch (err) {
      if (err instanceof RangeError) throw err;
      this.setDegraded(true, err);
      return [];
    }
  }

  /** Queues one usage record for the next flush; buffered at once while degraded. Resolves once applied or buffered. */
  private async enqueue(buffered: UsageEntry, direct: UsageEntry): Promise<void> {
    const write: UsageWrite = { stream: 'usage', seq: ++this.seqs.usage, attempts: 0, kind: 'usage', entry: buffered };
    if (this.degraded) {
      this.buffer.insert(write);
      return;
    }
    this.inflightWrites++;
    await new Promise<void>((done) => {
      this.usageQueue.push({ write, direct, done });
      this.usageFlush ??= new Promise<void>((flushed) => {
        const run = () => {
          if (this.usageFlushNow !== run) return;
          clearTimeout(timer);
          this.usageFlushNow = undefined;
          this.usageFlush = undefined;
          const sent = this.flushUsage();
          this.usageSent = Promise.all([this.usageSent, sent]).then(() => undefined);
          void sent.then(flushed);
        };
        this.usageFlushNow = run;
        const timer = this.usageFlushDelayMs > 0 ? setTimeout(run, this.usageFlushDelayMs) : undefined;
        if (!timer) setImmediate(run);
      });
    });
  }

  /**
   * Sends the queued usage records: every script call is issued before any is awaited, so calls
   * reach Redis in sequence order (one connection, one slot), as the writer high-water mark needs.
   * A call that fails or times out makes the store degraded and its records are buffered for the
   * replay, which skips any that Redis did apply after all.
   */
  private async flushUsage(): Promise<void> {
    const queue = this.usageQueue;
    this.usageQueue = [];
    await this.send(queue);
  }

  /** Sends queued entries in script calls of at most LIVE_BATCH, in order; buffers them when Redis fails. */
  private async send(queue: Queued[]): Promise<void> {
    const calls: Promise<void>[] = [];
    for (let from = 0; from < queue.length; from += LIVE_BATCH) {
      const chunk = queue.slice(from, from + LIVE_BATCH);
      const settle = () => {
        this.inflightWrites -= chunk.length;
        for (const entry of chunk) entry.done();
      };
      if (this.degraded) {
        for (const entry of chunk) this.buffer.insert(entry.write);
        settle();
        continue;
      }
      const sent = this.redis.applyUsageBatch(
        chunk.map((entry) => entry.direct),
        chunk.map((entry) => sentSeq(entry.write)),
      );
      calls.push(
        this.bounded(sent).then(
          () => settle(),
          (err: unknown) => {
            this.setDegraded(true, err);
            for (const entry of chunk) this.buffer.insert(entry.write);
            settle();
          },
        ),
      );
    }
    await Promise.all(calls);
  }

  /** Sends the usage records that wait at once, and waits until every one made so far is applied or buffered. */
  private async usageWritten(): Promise<void> {
    const flush = this.usageFlush;
    this.usageFlushNow?.();
    await flush;
    await this.usageSent;
  }

  async addRequestStats(delta: RequestStatsDelta): Promise<void> {
    assertRequestStatsDelta(delta);
    await this.write({ stream: 'stats', seq: ++this.seqs.stats, attempts: 0, kind: 'stats', delta });
  }

  async usage(): Promise<UsageSnapshot> {
    return this.read(() => this.redis.usage());
  }

  async userUsage(userId: string): Promise<UsageSnapshot> {
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

  async lastHourTokens(): Promise<number> {
    return this.read(() => this.redis.lastHourTokens());
  }

  async timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    return this.read(() => this.redis.timeseries(windowMs, stepMs));
  }

  async requestStats(windowS: number): Promise<RequestStats> {
    return this.read(() => this.redis.requestStats(windowS));
  }

  /** Pings Redis (bounded by the command timeout); a failure makes the store degraded and rejects. */
  async ping(): Promise<void> {
    try {
      await this.bounded(this.redis.ping());
    } catch (err) {
      this.setDegraded(true, err);
      throw new StoreUnavailableError('redis did not answer a ping', { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.usageWritten();
    if (this.buffer.length > 0) {
      this.flushDeadline = Date.now() + this.closeFlushTimeoutMs;
      await this.check();
    }
    this.closed = true;
    await this.checking;
    await Promise.allSettled([this.fallback.close(), this.redis.close()]);
    this.listeners.clear();
  }

  /**
   * Runs another limit check under this store's failure mode (the spend budgets): Redis when
   * healthy; the fallback (open) or a refusal (closed) otherwise.
   */
  guarded<T>(onRedis: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    return this.limit(onRedis, onFallback);
  }

  /** A limit check: Redis when healthy; the fallback (open) or a refusal (closed) otherwise. */
  private async limit<T>(onRedis: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    let cause: unknown;
    if (!this.degraded) {
      try {
        return await this.bounded(onRedis());
      } catch (err) {
        if (err instanceof RangeError) throw err;
        this.setDegraded(true, err);
        cause = err;
      }
    }
    if (this.failureMode === 'closed') {
      throw new StoreUnavailableError('the counters store is degraded (REDIS_FAILURE_MODE=closed)', { cause });
    }
    return onFallback();
  }

  private async read<T>(onRedis: () => Promise<T>): Promise<T> {
    await this.usageWritten();
    if (this.degraded)
      throw new StoreUnavailableError('the counters store is degraded: shared counters are unavailable');
    try {
      return await this.bounded(onRedis());
    } catch (err) {
      if (err instanceof RangeError) throw err;
      this.setDegraded(true, err);
      throw new StoreUnavailableError('redis did not answer', { cause: err });
    }
  }

  /** A counter increment: straight to Redis when healthy, else (or when that fails) into the buffer. */
  private async write(write: BufferedWrite): Promise<void> {
    if (!this.degraded) {
      this.inflightWrites++;
      try {
        await this.bounded(this.apply(write));
        return;
      } catch (err) {
        this.setDegraded(true, err);
      } finally {
        this.inflightWrites--;
      }
    }
    this.buffer.insert(write);
  }

  private async apply(write: BufferedWrite): Promise<void> {
    const sequence = { writerId: this.redis.writerId, seq: write.seq };
    switch (write.kind) {
      case 'usage':
        await this.redis.applyUsageBatch([write.entry], [sentSeq(write)]);
        return;
      case 'stats':
        return this.redis.addRequestStats(write.delta, sequence);
      case 'settle':
        return this.redis.settleBudget(write.key, write.reservationId, write.tokens, write.windowMs);
    }
  }

  /** Rejects with a StoreUnavailableError when `promise` has not settled within the command timeout. */
  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`redis did not answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      timer.unref();
    });
    // The late outcome of a timed-out call is of no interest (and must not be an unhandled rejection).
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /** The background check: ping; when degraded and nothing is in flight, replay the buffer and recover. */
  private check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    if (this.closed) return;
    try {
      await this.bounded(this.redis.ping());
    } catch (err) {
      this.setDegraded(true, err);
      return;
    }
    // Direct writes still in flight may be applied or may fail into the buffer: replaying before
    // they settle could apply a younger sequence first and make the older one look applied.
    if (!this.degraded || this.inflightWrites > 0) return;
    while (this.buffer.length > 0) {
      if (this.closed || Date.now() > this.flushDeadline) return;
      const batch = this.takeBatch();
      try {
        await this.bounded(this.replay(batch));
        this.replayed += batch.length;
      } catch (err) {
        const server = isServerError(err);
        for (const write of batch) {
          write.attempts = server ? write.attempts + 1 : 0;
          if (write.attempts >= MAX_REPLAY_ATTEMPTS) this.buffer.dropped++;
          else this.buffer.insert(write);
        }
        return;
      }
    }
    this.setDegraded(false);
  }

  /** The oldest buffered write, or the run of oldest usage writes (replayed in one script). */
  private takeBatch(): BufferedWrite[] {
    const batch = [this.buffer.shift() as BufferedWrite];
    if (batch[0]?.kind !== 'usage') return batch;
    while (batch.length < REPLAY_BATCH && this.buffer.peek()?.kind === 'usage') {
      batch.push(this.buffer.shift() as BufferedWrite);
    }
    return batch;
  }

  private async replay(batch: BufferedWrite[]): Promise<void> {
    const [first] = batch;
    if (first?.kind !== 'usage') {
      if (first) await this.apply(first);
      return;
    }
    const usage = batch as UsageWrite[];
    await this.redis.applyUsageBatch(
      usage.map((w) => w.entry),
      usage.map(sentSeq),
    );
  }

  private setDegraded(degraded: boolean, cause?: unknown): void {
    if (this.degraded === degraded || this.closed) return;
    this.degraded = degraded;
    for (const listener of this.listeners) {
      try {
        listener(degraded, cause);
      } catch {
        // A listener's failure must not change the store's behaviour.
      }
    }
  }
}
