import { assertCount } from '../limits/validate';
import type { PeriodSummary, PeriodUser, TimeseriesPoint, UsageCounters, UsageSnapshot } from '../types';
import {
  countersFromValues,
  emptyPricingCheck,
  pricingFromValues,
  snapshotFromHash,
  USAGE_FIELDS,
} from '../usage/counters';
import { assertPeriod } from '../usage/periods';
import { aggregateSteps, lookbackMs, stepLayout } from '../usage/timeseries';
import type { KeySpace } from './keys';
import { asArray } from './replies';
import type { ScriptedClient } from './scripts/define';

/** Users and their USAGE_FIELDS values, flat from `offset`, as the period scripts answer. */
function periodUsersFrom(reply: readonly unknown[], offset: number): PeriodUser[] {
  const width = USAGE_FIELDS.length + 1;
  const users: PeriodUser[] = [];
  for (let i = offset; i + width <= reply.length; i += width) {
    users.push({ userId: String(reply[i]), counters: countersFromValues(reply.slice(i + 1, i + width)) });
  }
  return users;
}

/**
 * The usage reads of `RedisStore`: running totals with their last hour, the timeseries, and the
 * report periods (top users, a page of users, one user, a summary). Each is one script or one
 * command, timed by the server's clock; errors of the client are thrown as they are.
 */
export class RedisUsageReads {
  constructor(
    private readonly client: ScriptedClient,
    private readonly keys: KeySpace,
  ) {}

  /** See `CountersStore.periodUsers`; RangeError for a bad period or a limit outside 1..1000. */
  async periodUsers(period: string, sort: 'cost' | 'tokens', limit: number): Promise<PeriodUser[]> {
    assertPeriod(period);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`limit must be 1..1000, got ${limit}`);
    const rank = `${this.keys.usageRankPrefix()}${sort === 'cost' ? 'ct' : 'tk'}:${period}`;
    const reply = asArray(await this.client.flashcasePeriodTop(2, rank, this.keys.usagePeriodUsers(period), limit));
    return periodUsersFrom(reply, 0);
  }

  /** See `CountersStore.scanPeriodUsers`: a ZSCAN page of the tokens ranking (cursor '0' when done). */
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

  /** One user's counters in a period (zeros when absent). */
  async periodUser(period: string, userId: string): Promise<UsageCounters> {
    assertPeriod(period);
    const fields = USAGE_FIELDS.map((field) => `${userId}:${field}`);
    return countersFromValues(await this.client.hmget(this.keys.usagePeriodUsers(period), ...fields));
  }

  /** A period's totals, breakdowns, pricing check and number of active users. */
  async periodSummary(period: string): Promise<PeriodSummary> {
    assertPeriod(period);
    const [flat, activeUsers] = await Promise.all([
      this.client.hgetall(`${this.keys.usagePeriodTotalsPrefix()}${period}`),
      this.client.zcard(`${this.keys.usageRankPrefix()}tk:${period}`),
    ]);
    const { totals, byOperation, byModel, pricingCheck } = snapshotFromHash(Object.entries(flat).flat());
    return { counters: totals, activeUsers, byOperation, byModel, pricingCheck };
  }

  /** The cluster-wide running totals, their last hour, and the pricing checks (all time, last 24 h). */
  async usage(): Promise<UsageSnapshot> {
    return this.snapshot(this.keys.usageTotals(), this.keys.usageMinutePrefix(), this.keys.usageHourPrefix());
  }

  /** One user's running totals and last hour; the pricing checks are zero (kept cluster-wide only). */
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

  /** Tokens of the cluster-wide last hour (the current minute and the 59 before it). */
  async lastHourTokens(): Promise<number> {
    const [, sums] = asArray(
      await this.client.flashcaseUsageSnapshot(1, this.keys.usageTotals(), this.keys.usageMinutePrefix(), '1', ''),
    );
    return countersFromValues(asArray(sums)).totalTokens;
  }

  /** See `CountersStore.timeseries`; the window and step are checked before the round trip. */
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
}
