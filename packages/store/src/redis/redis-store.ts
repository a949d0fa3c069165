import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UNLIMITED } from '../limits/decision';
import { activeWindows, assertCount, assertDuration } from '../limits/validate';
import { assertRequestStatsDelta, deltaMinute, requestStatsMinutes } from '../stats/request-stats';
import { GLOBAL_BUCKET_RETENTION_MS, USER_BUCKET_RETENTION_MS } from '../time';
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
import { assertInflightCall, inflightJson, recoveredCallOf, TOMBSTONE_TTL_MS } from './inflight';
import { DEFAULT_KEY_PREFIX, KeySpace } from './keys';
import { asArray } from './replies';
import { requestStatsFields, requestStatsOfReply } from './request-stats';
import { defineScripts, type ScriptedClient } from './scripts/define';
import { assertUsageEntries, inflightCall, onlyInflight, type UsageEntry, usageBatchCall } from './usage-batch';
import { RedisUsageReads } from './usage-reads';
import { WRITER_TTL_MS, type WriteSequence } from './write-sequence';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** Every key starts with it (no braces: they are the hash tags). Default `flashcase:`. */
  keyPrefix?: string;
  /** `close()` quits the client too (the store owns it). Default true. */
  closeClient?: boolean;
  /**
   * This process's identity as a writer: its write sequences, its in-flight calls and its
   * heartbeat are kept under it. Default: a new UUID (one per store).
   */
  writerId?: string;
}

/**
 * The shared counters store on Redis (or Redis Cluster): every call is one Lua script, so one
 * atomic round trip, timed by the server's clock. Keys start with the key prefix and are hash-tagged
 * per concern (see `KeySpace`), so each script touches one slot.
 *
 * Errors of the client (connection refused, timeout, offline) are thrown as they are: wrap the
 * store in a `ResilientStore` for the contract's failure modes. `timestampMs` on usage records is
 * honoured (it decides the minute bucket); otherwise the server's time is used.
 */
export class RedisStore implements CountersStore {
  readonly kind = 'redis' as const;

  /** The keys this store reads and writes. */
  readonly keys: KeySpace;
  /** This store's writer identity (see `RedisStoreOptions.writerId`). */
  readonly writerId: string;
  private readonly client: ScriptedClient;
  private readonly closeClient: boolean;
  private readonly reads: RedisUsageReads;

  constructor(
    client: Redis | Cluster,
    { keyPrefix = DEFAULT_KEY_PREFIX, closeClient = true, writerId = randomUUID() }: RedisStoreOptions = {},
  ) {
    this.keys = new KeySpace(keyPrefix);
    this.client = defineScripts(client);
    this.closeClient = closeClient;
    this.writerId = writerId;
    this.reads = new RedisUsageReads(this.client, this.keys);
  }

  /**
   * True when the rate-limit script can write an in-flight call in the same step: on standalone
   * Redis. On Redis Cluster the limit keys (`{u:<key>}`) and the in-flight records (`{usage}`) are in
   * different slots, so the call is begun by a usage script sent alongside (same round trip).
   */
  get beginsWithHit(): boolean {
    return !(this.client as { isCluster?: boolean }).isCluster;
  }

  /**
   * Checks and records a hit (see `CountersStore.hit`). With `begin`, an admitted hit also begins
   * that call: in the same script on standalone Redis, by a concurrent `beginCall` on Cluster or
   * when no window applies (then a refused hit cancels it again).
   */
  async hit(key: string, windows: WindowLimit[], begin?: InflightCall): Promise<RateLimitDecision> {
    const active = activeWindows(windows);
    if (begin) assertInflightCall(begin);
    if (active.length === 0) {
      if (begin) await this.beginCall(begin);
      return { ...UNLIMITED };
    }
    const inline = begin !== undefined && this.beginsWithHit;
    const keys: string[] = active.map((window) => this.keys.rateLimit(key, window));
    const args: (string | number)[] = [randomUUID()];
    for (const window of active) args.push(window.limit, window.windowMs);
    if (inline && begin) {
      keys.push(this.keys.inflight(this.writerId), this.keys.replicas());
      args.push(begin.callId, inflightJson(begin), this.writerId, WRITER_TTL_MS);
    }
    const script = inline
      ? this.client.flashcaseHitBegin(keys.length, ...keys, ...args)
      : this.client.flashcaseHit(keys.length, ...keys, ...args);
    const separately = begin && !inline ? this.beginCall(begin) : undefined;
    const [reply] = await Promise.all([script, separately]);
    const [allowed, index, limit, remaining, resetMs, retryAfterMs] = asArray(reply).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const decision: RateLimitDecision = { allowed: allowed === 1, limit, remaining, resetMs, retryAfterMs };
    if (!decision.allowed) {
      decision.limitName = active[index - 1]?.name;
      if (separately && begin) await this.cancelCall(begin.callId);
    }
    return decision;
  }

  async reserveBudget(
    key: string,
    reservationId: string,
    tokens: number,
    budget: number,
    windowMs: number,
  ): Promise<BudgetDecision> {
    assertCount(tokens, 'tokens');
    assertCount(budget, 'budget');
    assertDuration(windowMs, 'windowMs');
    if (budget === 0) return { allowed: true, used: 0, budget: 0, retryAfterMs: 0 };
    const [allowed, used, retryAfterMs] = asArray(
      await this.client.flashcaseReserve(
        2,
        this.keys.budgetLog(key),
        this.keys.budgetTokens(key),
        reservationId,
        tokens,
        budget,
        windowMs,
      ),
    ).map(Number) as [number, number, number];
    return { allowed: allowed === 1, used, budget, retryAfterMs };
  }

  async settleBudget(key: string, reservationId: string, tokens: number, windowMs: number): Promise<void> {
    assertCount(tokens, 'tokens');
    assertDuration(windowMs, 'windowMs');
    await this.client.flashcaseSettle(
      2,
      this.keys.budgetLog(key),
      this.keys.budgetTokens(key),
      reservationId,
      tokens,
      windowMs,
    );
  }

  /**
   * Adds one request's usage. With `write`, the write is applied at most once per writer sequence
   * (resolves without counting when that sequence was already applied).
   */
  async recordUsage(record: UsageRecord, write?: WriteSequence): Promise<void> {
    await this.applyUsageBatch([{ kind: 'usage', record }], write && [write.seq]);
  }

  async beginCall(call: InflightCall): Promise<void> {
    await this.applyUsageBatch([{ kind: 'begin', call }]);
  }

  async cancelCall(callId: string): Promise<void> {
    await this.applyUsageBatch([{ kind: 'cancel', callId }]);
  }

  /**
   * Applies many usage entries in one round trip, atomically (one script), in order: how the live
   * path sends a flush window and how a writer replays buffered usage. With `seqs`, entry `i`
   * carries this writer's sequence `seqs[i]` (increasing) and is skipped when already applied.
   * Resolves to the number of usage records counted. RangeError (nothing sent) when any entry is
   * invalid or `seqs` does not match `entries`.
   */
  async applyUsageBatch(entries: readonly UsageEntry[], seqs?: readonly number[]): Promise<number> {
    assertUsageEntries(entries, seqs);
    if (entries.length === 0) return 0;
    // Begins and cancels alone (a turn's admissions) go in the slim script: they are idempotent,
    // so they need no writer sequence either.
    if (onlyInflight(entries)) {
      const { keys, args } = inflightCall(this.keys, this.writerId, entries);
      await this.client.flashcaseInflight(keys.length, ...keys, ...args);
      return 0;
    }
    const { keys, args } = usageBatchCall(this.keys, this.writerId, entries, seqs);
    return Number(await this.client.flashcaseUsageBatch(keys.length, ...keys, ...args));
  }

  async recoverOrphanedCalls({ staleAfterMs, limit = 1000 }: RecoverOptions): Promise<RecoveredCall[]> {
    assertDuration(staleAfterMs, 'staleAfterMs');
    assertCount(limit, 'limit');
    const reply = asArray(
      await this.client.flashcaseRecover(
        2,
        this.keys.usageTotals(),
        this.keys.replicas(),
        this.keys.usageMinutePrefix(),
        GLOBAL_BUCKET_RETENTION_MS,
        USER_BUCKET_RETENTION_MS,
        this.keys.usageHourPrefix(),
        this.keys.recoveredPrefix(),
        this.writerId,
        staleAfterMs,
        limit,
        this.keys.inflightPrefix(),
        this.keys.usageUserPrefix(),
        this.keys.usageUserMinuteBase(),
        TOMBSTONE_TTL_MS,
        this.keys.usagePeriodUsersPrefix(),
        this.keys.usagePeriodTotalsPrefix(),
        this.keys.usageRankPrefix(),
      ),
    );
    return reply.slice(1).map(recoveredCallOf);
  }

  periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    return this.reads.periodUsers(period, sort, limit);
  }

  scanPeriodUsers(period: string, cursor: string, count: number): Promise<{ cursor: string; users: PeriodUser[] }> {
    return this.reads.scanPeriodUsers(period, cursor, count);
  }

  periodUser(period: string, userId: string): Promise<UsageCounters> {
    return this.reads.periodUser(period, userId);
  }

  periodSummary(period: string): Promise<PeriodSummary> {
    return this.reads.periodSummary(period);
  }

  usage(): Promise<UsageSnapshot> {
    return this.reads.usage();
  }

  userUsage(userId: string): Promise<UsageSnapshot> {
    return this.reads.userUsage(userId);
  }

  lastHourTokens(): Promise<number> {
    return this.reads.lastHourTokens();
  }

  timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    return this.reads.timeseries(windowMs, stepMs);
  }

  /** Adds gateway request stats; `write` deduplicates replays as in `recordUsage`. */
  async addRequestStats(delta: RequestStatsDelta, write?: WriteSequence): Promise<void> {
    assertRequestStatsDelta(delta);
    const minute = deltaMinute(delta);
    await this.client.flashcaseAddRequestStats(
      2,
      `${this.keys.requestMinutePrefix()}${minute}`,
      this.keys.requestWriter(write?.writerId ?? '-'),
      write?.seq ?? 0,
      WRITER_TTL_MS,
      minute,
      GLOBAL_BUCKET_RETENTION_MS,
      ...requestStatsFields(delta),
    );
  }

  async requestStats(windowS: number): Promise<RequestStats> {
    const minutes = requestStatsMinutes(windowS);
    const reply = asArray(
      await this.client.flashcaseRequestStats(
        1,
        this.keys.requestWriter('-'),
        this.keys.requestMinutePrefix(),
        minutes,
      ),
    );
    return requestStatsOfReply(reply, windowS);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** Quits the client (unless `closeClient: false`); waits at most 1 s, then drops the connection. */
  async close(): Promise<void> {
    if (!this.closeClient) return;
    const client = this.client;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    });
    await Promise.race([client.quit().catch(() => undefined), deadline]);
    clearTimeout(timer);
    client.disconnect();
  }
}
