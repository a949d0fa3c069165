import { assertCount } from '../limits/validate';
import type { PeriodSummary, PeriodUser, PricingCheck, UsageCounters, UsageRecord } from '../types';
import { addCounters, emptyCounters, emptyPricingCheck } from '../usage/counters';
import { assertPeriod } from '../usage/periods';
import { addTo } from './buckets';
import { addBilled } from './usage';

interface EmbeddedPeriod {
  totals: UsageCounters;
  users: Map<string, UsageCounters>;
  byOperation: Map<string, UsageCounters>;
  byModel: Map<string, UsageCounters>;
  pricingCheck: PricingCheck;
}

/** Report periods kept, by kind: two days of hours, 40 days, 13 months. */
const PERIODS_KEPT = { h: 48, d: 40, m: 13 } as const;

/**
 * The report periods of the embedded store (hour, day and month labels, see `UsagePeriods`): per
 * period the totals, every user's counters, the breakdowns and the pricing check. The oldest
 * periods of a kind beyond PERIODS_KEPT are dropped when a new one starts.
 */
export class EmbeddedPeriods {
  /** Periods by label, oldest first (a Map keeps insertion order). */
  private readonly periods = new Map<string, EmbeddedPeriod>();

  /** Counts one record into its hour, day and month (a record without periods is not in the reports). */
  add(record: UsageRecord, counters: UsageCounters): void {
    if (!record.periods) return;
    for (const label of [record.periods.hour, record.periods.day, record.periods.month]) {
      const period = this.period(label);
      addCounters(period.totals, counters);
      addTo(period.users, record.userId, counters);
      addTo(period.byOperation, record.operation, counters);
      addTo(period.byModel, record.model, counters);
      if (record.billed) addBilled(period.pricingCheck, record.billed);
    }
  }

  /** A report period, made when first counted in; the oldest of its kind beyond PERIODS_KEPT go. */
  private period(label: string): EmbeddedPeriod {
    let period = this.periods.get(label);
    if (!period) {
      period = {
        totals: emptyCounters(),
        users: new Map(),
        byOperation: new Map(),
        byModel: new Map(),
        pricingCheck: emptyPricingCheck(),
      };
      this.periods.set(label, period);
      const kind = label[0] as keyof typeof PERIODS_KEPT;
      const same = [...this.periods.keys()].filter((key) => key[0] === kind);
      for (const old of same.slice(0, Math.max(0, same.length - PERIODS_KEPT[kind]))) this.periods.delete(old);
    }
    return period;
  }

  /** See `CountersStore.periodUsers`; RangeError for a bad period or a limit outside 1..1000. */
  topUsers(period: string, sort: 'cost' | 'tokens', limit: number): PeriodUser[] {
    assertPeriod(period);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new RangeError(`limit must be 1..1000, got ${limit}`);
    const users = [...(this.periods.get(period)?.users ?? new Map<string, UsageCounters>())].map(
      ([userId, counters]) => ({ userId, counters: { ...counters } }),
    );
    const key = sort === 'cost' ? 'costTicks' : 'totalTokens';
    return users.sort((a, b) => b.counters[key] - a.counters[key]).slice(0, limit);
  }

  /** A page of a period's users in first-call order; the cursor is an offset ('0' when done). */
  scanUsers(period: string, cursor: string, count: number): { cursor: string; users: PeriodUser[] } {
    assertPeriod(period);
    assertCount(count, 'count');
    const all = [...(this.periods.get(period)?.users ?? new Map<string, UsageCounters>())];
    const from = Number(cursor) || 0;
    const page = all.slice(from, from + Math.max(1, count));
    const next = from + page.length;
    return {
      cursor: next >= all.length ? '0' : String(next),
      users: page.map(([userId, counters]) => ({ userId, counters: { ...counters } })),
    };
  }

  /** One user's counters in a period (zeros when absent). */
  user(period: string, userId: string): UsageCounters {
    assertPeriod(period);
    return { ...(this.periods.get(period)?.users.get(userId) ?? emptyCounters()) };
  }

  /** A period's totals, active users, breakdowns and pricing check (zeros when absent). */
  summary(period: string): PeriodSummary {
    assertPeriod(period);
    const found = this.periods.get(period);
    const copy = (map: Map<string, UsageCounters> | undefined) =>
      Object.fromEntries([...(map ?? [])].map(([name, c]) => [name, { ...c }]));
    return {
      counters: { ...(found?.totals ?? emptyCounters()) },
      activeUsers: found?.users.size ?? 0,
      byOperation: copy(found?.byOperation),
      byModel: copy(found?.byModel),
      pricingCheck: { ...(found?.pricingCheck ?? emptyPricingCheck()) },
    };
  }
}
