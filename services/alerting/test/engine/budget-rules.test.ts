import { loadConfig } from '@flashcase/config';
import { getLogger } from '@flashcase/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackChannel } from '../../src/notify/channels';
import { Dispatcher } from '../../src/notify/dispatcher';
import type { AlertRule } from '../../src/rules/alert-rule';
import { seedRules } from '../../src/rules/seed';
import { engine } from '../helpers/engine';
import { type HttpSink, startHttpSink } from '../helpers/receivers';

const SECOND = 1000;
const seed = seedRules(loadConfig('alerting', { ENVIRONMENT: 'test' }));
function seedRule(name: string): AlertRule {
  const found = seed.find((r) => r.name === name);
  if (!found) throw new Error(`the seed has no ${name} rule`);
  return found;
}
const users = seedRule('UserBudgetNearlySpent');
const monthlyNear = seedRule('MonthlyBudgetNearlySpent');
const exhausted = seedRule('MonthlyBudgetExhausted');

describe('soft budget rules in the seed', () => {
  it('fire at AI_BUDGET_SOFT_RATIO (warning) and at the whole monthly budget (critical), each with a lower resolve threshold', () => {
    expect(users).toMatchObject({ severity: 'warning', comparison: '>=', threshold: 0.8, resolveThreshold: 0.76 });
    expect(monthlyNear).toMatchObject({
      severity: 'warning',
      comparison: '>=',
      threshold: 0.8,
      resolveThreshold: 0.76,
    });
    expect(exhausted).toMatchObject({ severity: 'critical', comparison: '>=', threshold: 1, resolveThreshold: 0.95 });
    const custom = seedRules(loadConfig('alerting', { ENVIRONMENT: 'test', AI_BUDGET_SOFT_RATIO: '0.5' }));
    expect(custom.find((r) => r.name === 'UserBudgetNearlySpent')?.threshold).toBe(0.5);
    expect(custom.find((r) => r.name === 'MonthlyBudgetNearlySpent')?.resolveThreshold).toBe(0.475);
  });
});

describe('UserBudgetNearlySpent (one alert per user and budget, one message for them all)', () => {
  let http: HttpSink;
  beforeAll(async () => {
    http = await startHttpSink();
  });
  afterAll(async () => {
    await http.close();
  });

  it('sends ONE Slack message listing 40 users near their budgets, never one per user', async () => {
    const e = engine({ rules: [users], groupWaitS: 30 });
    const dispatcher = new Dispatcher({
      channels: [new SlackChannel(`${http.base}/slack`)],
      log: getLogger('alerting.test'),
    });
    e.signals.near = Array.from({ length: 40 }, (_, i) => ({
      userId: `student-${String(i).padStart(2, '0')}`,
      budget: i % 2 === 0 ? ('user_daily_usd' as const) : ('user_monthly_usd' as const),
      usedRatio: 0.8 + i / 400,
    }));
    const first = await e.tick();
    expect(first.alerts).toHaveLength(40);
    expect(new Set(first.alerts.map((a) => a.fingerprint)).size).toBe(40);
    expect(first.alerts.every((a) => a.state === 'firing')).toBe(true);
    expect(e.notifier.sent).toHaveLength(0); // group wait
    const due = await e.tick(30 * SECOND);
    expect(due.notifications).toHaveLength(1);
    const [message] = due.notifications;
    expect(message?.firing).toHaveLength(40);
    const first00 = message?.firing.find((a) => a.labels.user === 'student-00');
    expect(first00?.labels).toEqual({ user: 'student-00', budget: 'user_daily_usd' });
    expect(first00?.summary).toBe('student-00 has used 80.0 % of their user_daily_usd budget (warning level 80.0 %)');
    await dispatcher.dispatch(message as NonNullable<typeof message>);
    const slack = http.on('/slack');
    expect(slack).toHaveLength(1);
    const text = JSON.stringify(slack[0]?.body);
    for (let i = 0; i < 40; i++) expect(text).toContain(`student-${String(i).padStart(2, '0')} has used`);
    expect(String(slack[0]?.body.text)).toContain('[FIRING:40] UserBudgetNearlySpent (warning)');
    // More users later join the same group: one more message (the change), not one each.
    e.signals.near = [...e.signals.near, { userId: 'student-99', budget: 'user_daily_usd', usedRatio: 0.9 }];
    await e.tick(60 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:UserBudgetNearlySpent:40/0', 'firing:UserBudgetNearlySpent:41/0']);
    await dispatcher.close();
  });

  it('keeps a user who left the list firing above the resolve threshold, and resolves them on a new day', async () => {
    const e = engine({ rules: [users], groupIntervalS: 10 });
    e.signals.near = [{ userId: 'student-1', budget: 'user_daily_usd', usedRatio: 0.85 }];
    await e.tick();
    expect(e.notifier.titles()).toEqual(['firing:UserBudgetNearlySpent:1/0']);
    // A raised budget takes them below the soft ratio but above 0.76: still firing (hysteresis).
    e.signals.near = [];
    e.signals.userRatios['student-1'] = { user_daily_usd: 0.78 };
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]).toMatchObject({ state: 'firing', value: 0.78 });
    expect(e.signals.userBudgetReads).toEqual(['student-1']);
    // Local midnight: today's spend starts at 0.
    e.signals.userRatios['student-1'] = { user_daily_usd: 0 };
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]).toMatchObject({ state: 'resolved', value: 0 });
    expect(e.notifier.titles()).toEqual(['firing:UserBudgetNearlySpent:1/0', 'resolved:UserBudgetNearlySpent:0/1']);
    // A resolved user is not read again.
    await e.tick(15 * SECOND);
    expect(e.signals.userBudgetReads).toEqual(['student-1', 'student-1']);
  });

  it('leaves every user alert as it is while ai-proxy cannot be read', async () => {
    const e = engine({ rules: [users] });
    e.signals.near = [{ userId: 'student-1', budget: 'user_monthly_usd', usedRatio: 0.9 }];
    await e.tick();
    e.signals.tokens = undefined; // the usage call fails as a whole
    await e.tick();
    e.signals.near = undefined;
    e.signals.tokens = 0; // an answer without users_near_budget
    await e.tick();
    expect((await e.repository.alerts()).map((a) => [a.state, a.labels.user])).toEqual([['firing', 'student-1']]);
    expect(e.signals.userBudgetReads).toEqual([]);
  });
});

describe('MonthlyBudgetNearlySpent and MonthlyBudgetExhausted (the deployment)', () => {
  it('stay quiet without AI_BUDGET_USD_PER_MONTH, however much is spent', async () => {
    const e = engine({ rules: [monthlyNear, exhausted] });
    e.signals.monthly = { spentUsd: 10_000, limitUsd: null, refusedToday: 0 };
    const result = await e.tick();
    expect(result.alerts).toEqual([]);
  });

  it('warn at the soft ratio, go critical at the limit, and both resolve when a new month starts', async () => {
    const e = engine({ rules: [monthlyNear, exhausted], groupIntervalS: 10 });
    e.signals.monthly = { spentUsd: 79.99, limitUsd: 100, refusedToday: 0 };
    expect((await e.tick()).alerts).toEqual([]);
    e.signals.monthly = { spentUsd: 80, limitUsd: 100, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:MonthlyBudgetNearlySpent:1/0']);
    expect(e.notifier.sent[0]?.firing[0]?.summary).toBe(
      "The deployment has spent 80.0 % of this month's AI budget (warning level 80.0 %)",
    );
    e.signals.monthly = { spentUsd: 100.02, limitUsd: 100, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:MonthlyBudgetNearlySpent:1/0', 'firing:MonthlyBudgetExhausted:1/0']);
    expect(e.notifier.sent[1]?.severity).toBe('critical');
    // The first of the month in BUDGET_TIMEZONE: the month's spend is a new key, at 0.
    e.signals.monthly = { spentUsd: 0, limitUsd: 100, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect(e.notifier.titles().slice(2).sort()).toEqual([
      'resolved:MonthlyBudgetExhausted:0/1',
      'resolved:MonthlyBudgetNearlySpent:0/1',
    ]);
  });

  it('call the budget exhausted once it refuses calls, though the spend stops a worst case below the limit', async () => {
    const e = engine({ rules: [exhausted], groupIntervalS: 10 });
    e.signals.monthly = { spentUsd: 99.4, limitUsd: 100, refusedToday: 0 };
    expect((await e.tick()).alerts).toEqual([]);
    e.signals.monthly = { spentUsd: 99.4, limitUsd: 100, refusedToday: 3 };
    await e.tick(15 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:MonthlyBudgetExhausted:1/0']);
    // after midnight the day's tally is 0 again, but 99.4 % is inside the band: still firing
    e.signals.monthly = { spentUsd: 99.4, limitUsd: 100, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('firing');
  });

  it('hold inside the hysteresis band: a raised limit to 97 % keeps Exhausted firing, 95 % resolves it', async () => {
    const e = engine({ rules: [exhausted], groupIntervalS: 10 });
    e.signals.monthly = { spentUsd: 100, limitUsd: 100, refusedToday: 0 };
    await e.tick();
    e.signals.monthly = { spentUsd: 100, limitUsd: 103, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('firing');
    e.signals.monthly = { spentUsd: 95, limitUsd: 100, refusedToday: 0 };
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('resolved');
  });
});
