import { describe, expect, it } from 'vitest';
import { EmbeddedPeriods } from '../../src/embedded/periods';
import type { UsageRecord } from '../../src/index';
import { countersOf } from '../../src/usage/counters';

function record(userId: string, costTicks: number, promptTokens: number, hour = 'h2025-10-21T12'): UsageRecord {
  return {
    userId,
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens,
    completionTokens: 0,
    costTicks,
    billed: { billedTicks: costTicks, pricedTicks: costTicks },
    periods: { hour, day: 'd2025-10-21', month: 'm2025-10' },
  };
}

function add(periods: EmbeddedPeriods, r: UsageRecord): void {
  periods.add(r, countersOf(r));
}

describe('embedded report periods', () => {
  it("counts a record in its hour, day and month, with every user's figures and the summary", () => {
    const periods = new EmbeddedPeriods();
    add(periods, record('alice', 30, 1));
    add(periods, record('bob', 10, 50));
    add(periods, record('alice', 5, 1));
    for (const label of ['h2025-10-21T12', 'd2025-10-21', 'm2025-10']) {
      expect(periods.user(label, 'alice')).toMatchObject({ requests: 2, costTicks: 35 });
      expect(periods.summary(label)).toMatchObject({
        counters: { requests: 3, costTicks: 45 },
        activeUsers: 2,
        pricingCheck: { calls: 3, billedTicks: 45 },
      });
    }
    expect(periods.topUsers('d2025-10-21', 'cost', 10).map((u) => u.userId)).toEqual(['alice', 'bob']);
    expect(periods.topUsers('d2025-10-21', 'tokens', 1).map((u) => u.userId)).toEqual(['bob']);
  });

  it('leaves out a record without periods, and answers zeros for a period it never saw', () => {
    const periods = new EmbeddedPeriods();
    const { periods: _, ...unreported } = record('alice', 1, 1);
    add(periods, unreported);
    expect(periods.summary('d2025-10-21')).toMatchObject({ counters: { requests: 0 }, activeUsers: 0 });
    expect(periods.user('m2025-10', 'alice').requests).toBe(0);
  });

  it('pages through the users with a cursor that ends at 0', () => {
    const periods = new EmbeddedPeriods();
    for (const user of ['a', 'b', 'c']) add(periods, record(user, 1, 1));
    const first = periods.scanUsers('m2025-10', '0', 2);
    expect(first.users.map((u) => u.userId)).toEqual(['a', 'b']);
    const second = periods.scanUsers('m2025-10', first.cursor, 2);
    expect(second).toMatchObject({ cursor: '0', users: [{ userId: 'c' }] });
  });

  it('keeps 48 hours: the oldest hour goes when a newer one starts', () => {
    const periods = new EmbeddedPeriods();
    const hours = Array.from({ length: 49 }, (_, i) => {
      const at = new Date(Date.UTC(2025, 9, 20, 0) + i * 3_600_000).toISOString();
      return `h${at.slice(0, 13)}`;
    });
    for (const hour of hours) add(periods, record('alice', 1, 1, hour));
    expect(periods.summary(hours[0] as string).activeUsers).toBe(0);
    expect(periods.summary(hours[1] as string).activeUsers).toBe(1);
    expect(periods.summary('d2025-10-21').counters.requests).toBe(49);
  });

  it('rejects a malformed period label and a limit outside 1..1000', () => {
    const periods = new EmbeddedPeriods();
    expect(() => periods.summary('2025-10-21')).toThrow(RangeError);
    expect(() => periods.topUsers('d2025-10-21', 'cost', 0)).toThrow(RangeError);
  });
});
