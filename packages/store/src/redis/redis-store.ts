import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { UNLIMITED } from '../limits/decision';
import { activeWindows, assertCount, assertDuration } from '../limits/validate';
import { assertRequestStatsDelta, deltaMinute, emptyRequestStats, requestStatsMinutes } from '../stats/request-stats';
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
import {
  assertUsageRecord,
  countersFromValues,
  emptyPricingCheck,
  pricingFromValues,
  snapshotFromHash,
  USAGE_FIELDS,
} from '../usage/counters';
import { assertPeriod, assertPeriods } from '../usage/periods';
import { aggregateSteps, lookbackMs, stepLayout } from '../usage/timeseries';
import { DEFAULT_KEY_PREFIX, KeySpace } from './keys';
import { defineScripts, type ScriptedClient, USAGE_BATCH_ARGS, USAGE_ENTRY_ARGS } from './scripts';

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
 * One entry of a usage batch: a usage record, the start of a call (its in-flight record), or the
 * cancellation of a call that never reached the upstream.
 */
export type UsageEntry =
  | { kind: 'usage'; record: UsageRecord }
  | { kind: 'begin'; call: InflightCall }
  | { kind: 'cancel'; callId: string };

/**
 * Identifies one write of a writer that may replay it (the resilient store's buffer): the script
 * applies a writer's sequence number at most once, so a write whose reply was lost and that is
 * replayed later is not counted twice. Sequences of one writer must be applied in increasing order.
 */
export interface WriteSequence {
  writerId: string;
  seq: number;
}

/** A writer's high-water key lives this long after its last write (longer than any replay wait). */
const WRITER_TTL_MS = GLOBAL_BUCKET_RETENTION_MS;

/** A recovered call's tombstone lives this long: its replica's late record can correct it until then. */
const TOMBSTONE_TTL_MS = GLOBAL_BUCKET_RETENTION_MS;

/** Throws RangeError when an in-flight call cannot be written exactly. */
function assertInflightCall(call: InflightCall): void {
  for (const [name, value] of [
    ['callId', call.callId],
    ['userId', call.userId],
    ['model', call.model],
    ['operation', call.operation],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${name} must be a non-empty string`);
  }
  assertCount(call.estimate.promptTokens, 'estimate.promptTokens');
  assertCount(call.estimate.completionTokens, 'estimate.completionTokens');
  assertCount(call.estimate.costTicks, 'estimate.costTicks');
  if (call.periods !== undefined) assertPeriods(call.periods);
}

/** An in-flight call as the scripts keep it (the recovery script reads these names). */
function inflightJson(call: InflightCall): string {
  return JSON.stringify({
    u: call.userId,
    m: call.model,
    o: call.operation,
    p: call.estimate.promptTokens,
    c: call.estimate.completionTokens,
    ct: call.estimate.costTicks,
    ...(call.requestId ? { q: call.requestId } : {}),
    ...(call.traceId ? { tr: call.traceId } : {}),
    ...(call.periods ? { ph: call.periods.hour, pd: call.periods.day, pm: call.periods.month } : {}),
  });
}

/** Request stats hash fields: `n`, `s4`, `s5`, then `b0`.. per latency bucket. */
const REQUEST_FIELDS = { requests: 'n', status4xx: 's4', status5xx: 's5', rateLimited: 's429' } as const;

/** Users and their USAGE_FIELDS values, flat from `offset`, as the period scripts answer. */
function periodUsersFrom(reply: readonly unknown[], offset: number): PeriodUser[] {
  const width = USAGE_FIELDS.length + 1;
  const users: PeriodUser[] = [];
  for (let i = offset; i + width <= reply.length; i += width) {
    users.push({ userId: String(reply[i]), counters: countersFromValues(reply.slice(i + 1, i + width)) });
  }
  return users;
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new TypeError(`unexpected script reply: ${String(reply)}`);
  return reply;
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

  constructor(
    client: Redis | Cluster,
    { keyPrefix = DEFAULT_KEY_PREFIX, closeClient = true, writerId = randomUUID() }: RedisStoreOptions = {},
  ) {
    this.keys = new KeySpace(keyPrefix);
    this.client = defineScripts(client);
    this.closeClient = closeClient;
    this.writerId = writerId;
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
    for (const entry of entries) {
      if (entry.kind === 'usage') assertUsageRecord(entry.record);
      else if (entry.kind === 'begin') assertInflightCall(entry.call);
      else if (typeof entry.callId !== 'string' || entry.callId.length === 0)
        throw new RangeError('callId must be a non-empty string');
    }
    if (seqs && seqs.length !== entries.length) throw new RangeError('one sequence number per entry is required');
    if (entries.length === 0) return 0;
    // Begins and cancels alone (a turn's admissions) go in the slim script: they are idempotent,
    // so they need no writer sequence either.
    if (entries.every((entry) => entry.kind !== 'usage')) {
      const args: string[] = [];
      for (const entry of entries) {
        if (entry.kind === 'begin') args.push(entry.call.callId, inflightJson(entry.call));
        else if (entry.kind === 'cancel') args.push(entry.callId, '');
      }
      await this.client.flashcaseInflight(
        2,
        this.keys.inflight(this.writerId),
        this.keys.replicas(),
        this.writerId,
        WRITER_TTL_MS,
        ...args,
      );
      return 0;
    }
    const keys = [
      this.keys.usageTotals(),
      this.keys.usageWriter(this.writerId),
      this.keys.inflight(this.writerId),
      this.keys.replicas(),
    ];
    const args: (string | number)[] = [
      this.keys.usageMinutePrefix(),
      GLOBAL_BUCKET_RETENTION_MS,
      USER_BUCKET_RETENTION_MS,
      WRITER_TTL_MS,
      this.keys.usageHourPrefix(),
      this.keys.recoveredPrefix(),
      this.writerId,
      this.keys.usagePeriodUsersPrefix(),
      this.keys.usagePeriodTotalsPrefix(),
      this.keys.usageRankPrefix(),
    ];
    entries.forEach((entry, i) => {
      const seq = seqs?.[i] ?? 0;
      if (entry.kind === 'usage') {
        const r = entry.record;
        keys.push(this.keys.usageUser(r.userId));
        args.push(
          'u',
          r.promptTokens,
          r.completionTokens,
          r.reasoningTokens ?? 0,
          r.cachedPromptTokens ?? 0,
          r.costTicks,
          r.error ? 1 : 0,
          r.operation,
          r.model,
          r.timestampMs ?? '',
          this.keys.usageUserMinutePrefix(r.userId),
          seq,
          r.callId ?? '',
          r.billed ? r.billed.billedTicks : '',
          r.billed ? r.billed.pricedTicks : '',
          '',
          r.userId,
          r.periods?.hour ?? '',
          r.periods?.day ?? '',
          r.periods?.month ?? '',
        );
        return;
      }
      // Begin and cancel touch no user key; the totals key keeps KEYS aligned with the entries.
      keys.push(this.keys.usageTotals());
      const callId = entry.kind === 'begin' ? entry.call.callId : entry.callId;
      const json = entry.kind === 'begin' ? inflightJson(entry.call) : '';
      args.push(
        entry.kind === 'begin' ? 'b' : 'x',
        ...[0, 0, 0, 0, 0, 0, '', '', '', '', seq, callId, '', '', json, '', '', '', ''],
      );
    });
    if (args.length !== USAGE_BATCH_ARGS + entries.length * USAGE_ENTRY_ARGS) {
      throw new Error('usage batch layout mismatch');
    }
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
    return reply.slice(1).map((json) => {
      const call = JSON.parse(String(json)) as {
        id: string;
        u: string;
        m: string;
        o: string;
        p: number;
        c: number;
        ct: number;
        t: number;
        w: string;
        q?: string;
        tr?: string;
        ph?: string;
        pd?: string;
        pm?: string;
      };
      return {
        callId: call.id,
        userId: call.u,
        model: call.m,
        operation: call.o,
        estimate: { promptTokens: call.p, completionTokens: call.c, costTicks: call.ct },
        countedAtMs: call.t,
        writerId: call.w,
        ...(call.q ? { requestId: call.q } : {}),
        ...(call.tr ? { traceId: call.tr } : {}),
        ...(call.ph && call.pd && call.pm ? { periods: { hour: call.ph, day: call.pd, month: call.pm } } : {}),
      };
    });
  }

  async periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    assertPeriod(period);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`limit must be 1..1000, got ${limit}`);
    const rank = `${this.keys.usageRankPrefix()}${sort === 'cost' ? 'ct' : 'tk'}:${period}`;
    const reply = asArray(await this.client.flashcasePeriodTop(2, rank, this.keys.usagePeriodUsers(period), limit));
    return periodUsersFrom(reply, 0);
  }

  async scanPeriodUsers(
    period: string,
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; users: PeriodUser[] }> {
    assertPeriod(period);
    assertCount(count, 'count');
    const reply = asArray(
      await this.client.flashcasePeriodScan(
        2,
        `${this.keys.usageRankPrefix()}tk:${period}`,
        this.keys.usagePeriodUsers(period),
        cursor,
        Math.max(1, count),
      ),
    );
    return { cursor: String(reply[0]), users: periodUsersFrom(reply, 1) };
  }

  async periodUser(period: string, userId: string): Promise<UsageCounters> {
    assertPeriod(period);
    const fields = USAGE_FIELDS.map((field) => `${userId}:${field}`);
    return countersFromValues(await this.client.hmget(this.keys.usagePeriodUsers(period), ...fields));
  }

  async periodSummary(period: string): Promise<PeriodSummary> {
    assertPeriod(period);
    const [flat, activeUsers] = await Promise.all([
      this.client.hgetall(`${this.keys.usagePeriodTotalsPrefix()}${period}`),
      this.client.zcard(`${this.keys.usageRankPrefix()}tk:${period}`),
    ]);
    const { totals, byOperation, byModel, pricingCheck } = snapshotFromHash(Object.entries(flat).flat());
    return { counters: totals, activeUsers, byOperation, byModel, pricingCheck };
  }

  async usage(): Promise<UsageSnapshot> {
    return this.snapshot(this.keys.usageTotals(), this.keys.usageMinutePrefix(), this.keys.usageHourPrefix());
  }

  async userUsage(userId: string): Promise<UsageSnapshot> {
    const snapshot = await this.snapshot(this.keys.usageUser(userId), this.keys.usageUserMinutePrefix(userId));
    // Pricing check fields are written to the totals only.
    return { ...snapshot, pricingCheck: emptyPricingCheck() };
  }

  private async snapshot(totalsKey: string, minutePrefix: string, hourPrefix = ''): Promise<UsageSnapshot> {
    const [, sums, hash, pricing] = asArray(
      await this.client.flashcaseUsageSnapshot(1, totalsKey, minutePrefix, '0', hourPrefix),
    );
    const snapshot = snapshotFromHash(asArray(hash) as string[]);
    return {
      ...snapshot,
      lastHour: countersFromValues(asArray(sums)),
      pricingCheckLast24h: hourPrefix ? pricingFromValues(asArray(pricing)) : emptyPricingCheck(),
    };
  }

  async lastHourTokens(): Promise<number> {
    const [, sums] = asArray(
      await this.client.flashcaseUsageSnapshot(1, this.keys.usageTotals(), this.keys.usageMinutePrefix(), '1', ''),
    );
    return countersFromValues(asArray(sums)).totalTokens;
  }

  async timeseries(windowMs: number, stepMs: number): Promise<TimeseriesPoint[]> {
    stepLayout(0, windowMs, stepMs); // validates before the round trip
    const reply = asArray(
      await this.client.flashcaseUsageMinutes(
        1,
        this.keys.usageTotals(),
        this.keys.usageMinutePrefix(),
        lookbackMs(windowMs, stepMs),
      ),
    ).map(Number);
    const minutes: [number, UsageCounters][] = [];
    const width = USAGE_FIELDS.length + 1;
    for (let i = 1; i + width - 1 < reply.length; i += width) {
      minutes.push([reply[i] as number, countersFromValues(reply.slice(i + 1, i + width))]);
    }
    return aggregateSteps(stepLayout(reply[0] as number, windowMs, stepMs), minutes);
  }

  /** Adds gateway request stats; `write` deduplicates replays as in `recordUsage`. */
  async addRequestStats(delta: RequestStatsDelta, write?: WriteSequence): Promise<void> {
    assertRequestStatsDelta(delta);
    const minute = deltaMinute(delta);
    const fields: (string | number)[] = [
      REQUEST_FIELDS.requests,
      delta.requests,
      REQUEST_FIELDS.status4xx,
      delta.status4xx,
      REQUEST_FIELDS.status5xx,
      delta.status5xx,
      REQUEST_FIELDS.rateLimited,
      delta.rateLimited ?? 0,
    ];
    delta.latencyBuckets.forEach((n, i) => {
      fields.push(`b${i}`, n);
    });
    await this.client.flashcaseAddRequestStats(
      2,
      `${this.keys.requestMinutePrefix()}${minute}`,
      this.keys.requestWriter(write?.writerId ?? '-'),
      write?.seq ?? 0,
      WRITER_TTL_MS,
      minute,
      GLOBAL_BUCKET_RETENTION_MS,
      ...fields,
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
    const stats = emptyRequestStats(windowS);
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const field = String(reply[i]);
      const value = Number(reply[i + 1]);
      if (field === REQUEST_FIELDS.requests) stats.requests = value;
      else if (field === REQUEST_FIELDS.status4xx) stats.status4xx = value;
      else if (field === REQUEST_FIELDS.status5xx) stats.status5xx = value;
      else if (field === REQUEST_FIELDS.rateLimited) stats.rateLimited = value;
      else if (/^b\d{1,3}$/.test(field)) stats.latencyBuckets[Number(field.slice(1))] = value;
    }
    // A longer latency array from a writer with more buckets leaves no holes.
    for (let i = 0; i < stats.latencyBuckets.length; i++) stats.latencyBuckets[i] ??= 0;
    return stats;
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
