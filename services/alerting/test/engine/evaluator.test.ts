import { loadConfig } from '@flashcase/config';
import { RedisAlertStateStore } from '@flashcase/store';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../../src/engine/evaluator';
import { seedRules } from '../../src/rules/seed';
import { AlertRepository } from '../../src/state/repository';
import { engine, RecordingNotifier, rule, ScriptedSignals, T0 } from '../helpers/engine';

const SECOND = 1000;

describe('alert state machine', () => {
  it('goes pending when the threshold is crossed and fires only once the condition held for `for`', async () => {
    const e = engine({ rules: [rule({ forS: 30 })] });
    e.signals.tokens = 150;
    const first = await e.tick();
    expect(first.alerts.map((a) => a.state)).toEqual(['pending']);
    await e.tick(20 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('pending');
    expect(e.notifier.sent).toHaveLength(0);
    const fired = await e.tick(10 * SECOND);
    expect(fired.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'pending', to: 'firing' }]);
    const [alert] = await e.repository.alerts();
    expect(alert).toMatchObject({ state: 'firing', value: 150, threshold: 100, startedAtMs: T0 + 10 * SECOND });
    expect(alert?.summary).toBe('tokens 150 tokens over 100 tokens');
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('drops a pending alert that falls back under the threshold, without a notification', async () => {
    const e = engine({ rules: [rule({ forS: 60 })] });
    e.signals.tokens = 150;
    await e.tick();
    e.signals.tokens = 90;
    const result = await e.tick();
    expect(result.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'pending', to: 'inactive' }]);
    expect(await e.repository.alerts()).toEqual([]);
    e.signals.tokens = 150;
    await e.tick(120 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('pending');
    expect(e.notifier.sent).toHaveLength(0);
  });

  it('keeps a firing alert firing inside the hysteresis band and sends nothing new while it flaps there', async () => {
    const e = engine({ rules: [rule()], groupIntervalS: 10 });
    e.signals.tokens = 150;
    await e.tick();
    for (const tokens of [95, 101, 85, 120, 81, 99, 130, 90]) {
      e.signals.tokens = tokens;
      await e.tick(15 * SECOND);
      expect((await e.repository.alerts())[0]?.state).toBe('firing');
    }
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('resolves at the resolve threshold, sends one resolved notification, and fires again as a new episode', async () => {
    const e = engine({ rules: [rule()], groupIntervalS: 10 });
    e.signals.tokens = 150;
    await e.tick();
    e.signals.tokens = 80;
    const resolved = await e.tick(15 * SECOND);
    expect(resolved.transitions[0]).toMatchObject({ from: 'firing', to: 'resolved' });
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0', 'resolved:HighTokenUsage:0/1']);
    expect(e.notifier.sent[1]?.resolved[0]).toMatchObject({ state: 'resolved', value: 80 });
    // resolved stays listed, and a resolved alert inside the band does not come back
    e.signals.tokens = 95;
    await e.tick(15 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('resolved');
    e.signals.tokens = 200;
    await e.tick(15 * SECOND);
    const [again] = await e.repository.alerts();
    expect(again?.state).toBe('firing');
    expect(again?.resolvedAtMs).toBeUndefined();
    expect(e.notifier.titles()).toHaveLength(3);
  });

  it('forgets a resolved alert 24 hours after it resolved', async () => {
    const e = engine({ rules: [rule()] });
    e.signals.tokens = 150;
    await e.tick();
    e.signals.tokens = 10;
    await e.tick();
    await e.tick(23 * 3600 * SECOND);
    expect((await e.repository.alerts()).map((a) => a.state)).toEqual(['resolved']);
    await e.tick(3600 * SECOND);
    expect(await e.repository.alerts()).toEqual([]);
  });

  it('leaves alerts as they are while their signal cannot be read, and logs that once per outage', async () => {
    const e = engine({ rules: [rule(), rule({ name: 'Pending', forS: 600 })], groupIntervalS: 10 });
    e.signals.tokens = 150;
    await e.tick();
    e.signals.tokens = undefined;
    for (let i = 0; i < 5; i++) await e.tick(700 * SECOND);
    const states = Object.fromEntries((await e.repository.alerts()).map((a) => [a.name, a.state]));
    expect(states).toEqual({ HighTokenUsage: 'firing', Pending: 'pending' });
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
    const outageLines = e.logs.lines.filter((l) => l.includes('ai-proxy usage cannot be read'));
    expect(outageLines).toHaveLength(1);
    e.signals.tokens = 10;
    await e.tick();
    expect(e.logs.lines.filter((l) => l.includes('ai-proxy usage can be read again'))).toHaveLength(1);
    expect((await e.repository.alerts()).find((a) => a.name === 'HighTokenUsage')?.state).toBe('resolved');
  });

  it('does not fire an error-rate rule on a window with too little traffic', async () => {
    const e = engine({
      rules: [
        rule({
          name: 'HighErrorRate',
          signal: 'gateway_error_rate',
          threshold: 0.05,
          resolveThreshold: 0.03,
          minRequests: 20,
        }),
      ],
    });
    e.signals.stats = { requests: 4, status5xx: 2, errorRate: 0.5, latencyP95S: 0.1 };
    await e.tick();
    expect(await e.repository.alerts()).toEqual([]);
    e.signals.stats = { requests: 40, status5xx: 4, errorRate: 0.1, latencyP95S: 0.1 };
    await e.tick();
    expect((await e.repository.alerts())[0]).toMatchObject({ name: 'HighErrorRate', state: 'firing', value: 0.1 });
  });

  it('fires ServiceDown after 3 consecutive failed health checks and resolves on the first good one', async () => {
    const serviceDown = rule({
      name: 'ServiceDown',
      signal: 'service_health_failures',
      comparison: '>=',
      threshold: 3,
      resolveThreshold: 0,
      services: ['gateway', 'ai-proxy'],
      summary: '{{labels.service}} failed {{value}} in a row',
    });
    const e = engine({ rules: [serviceDown], groupIntervalS: 10 });
    await e.tick();
    e.signals.healthy['ai-proxy'] = false;
    await e.tick();
    await e.tick();
    expect(await e.repository.alerts()).toEqual([]);
    await e.tick();
    const [down] = await e.repository.alerts();
    expect(down).toMatchObject({ name: 'ServiceDown', state: 'firing', labels: { service: 'ai-proxy' }, value: 3 });
    expect(down?.summary).toBe('ai-proxy failed 3 failed checks in a row');
    e.signals.healthy['ai-proxy'] = true;
    await e.tick();
    expect((await e.repository.alerts())[0]?.state).toBe('resolved');
    expect(e.notifier.titles()).toEqual(['firing:ServiceDown:1/0', 'resolved:ServiceDown:0/1']);
  });

  it('checks health every HEALTH_CHECK_INTERVAL_S, not every evaluation', async () => {
    const e = engine({
      rules: [
        rule({
          name: 'Mem',
          signal: 'service_memory_utilization',
          threshold: 0.8,
          resolveThreshold: 0.75,
          services: ['gateway'],
        }),
      ],
      evalIntervalS: 10,
      healthIntervalS: 30,
    });
    for (let i = 0; i < 9; i++) await e.tick();
    expect(e.signals.healthChecks).toBe(3);
  });

  it('keeps counting failed health checks across a change of evaluator (the count is in the store)', async () => {
    const serviceDown = rule({
      name: 'ServiceDown',
      signal: 'service_health_failures',
      comparison: '>=',
      threshold: 3,
      resolveThreshold: 0,
      services: ['ai-proxy'],
    });
    const first = engine({ rules: [serviceDown] });
    first.signals.healthy['ai-proxy'] = false;
    await first.tick();
    await first.tick();
    const second = engine({ rules: [serviceDown], sharing: first });
    await second.tick();
    expect((await second.repository.alerts())[0]).toMatchObject({ state: 'firing', value: 3 });
  });

  it('reads HighMemoryUsage per service and leaves it alone while the service cannot be checked', async () => {
    const memoryRule = rule({
      name: 'HighMemoryUsage',
      severity: 'warning',
      signal: 'service_memory_utilization',
      threshold: 0.8,
      resolveThreshold: 0.75,
      services: ['gateway', 'ai-proxy', 'alerting'],
    });
    const e = engine({ rules: [memoryRule], healthIntervalS: 10 });
    e.signals.memory.gateway = 0.9;
    await e.tick();
    const firing = await e.repository.alerts();
    expect(firing.map((a) => a.labels.service)).toEqual(['gateway']);
    e.signals.healthy.gateway = false;
    e.signals.memory.gateway = 0.1;
    await e.tick();
    expect((await e.repository.alerts())[0]?.state).toBe('firing');
  });
});

describe('PricingTableDrift (the seed rule on ai_pricing_drift)', () => {
  const config = loadConfig('alerting', { ENVIRONMENT: 'test' });
  const seed = seedRules(config);
  const drift = seed.find((r) => r.name === 'PricingTableDrift');
  if (!drift) throw new Error('the seed has no PricingTableDrift rule');
  const FOR = 15 * 60 * SECOND;

  it('fires on a stale pricing table (20 % off the bill over 50 billed calls) once it held for 15 minutes', async () => {
    const e = engine({ rules: [drift] });
    e.signals.pricing = { callsBilled: 50, driftRatio: 0.2 };
    const first = await e.tick();
    expect(first.alerts.map((a) => a.state)).toEqual(['pending']);
    await e.tick(FOR - 20 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('pending');
    expect(e.notifier.sent).toHaveLength(0);
    await e.tick(20 * SECOND);
    const [alert] = await e.repository.alerts();
    expect(alert).toMatchObject({ name: 'PricingTableDrift', severity: 'warning', state: 'firing', value: 0.2 });
    expect(alert?.summary).toBe(
      "The pricing table is 20.0 % off the provider's bill over the last 24 h (limit 5.00 %)",
    );
    expect(alert?.runbookUrl).toBe('docs/runbook.md#pricingtabledrift');
    expect(e.notifier.titles()).toEqual(['firing:PricingTableDrift:1/0']);
  });

  it('fires as well on a table that overcharges as on one that undercharges (the drift is signed)', async () => {
    const e = engine({ rules: [drift] });
    e.signals.pricing = { callsBilled: 50, driftRatio: -0.2 };
    await e.tick();
    await e.tick(FOR);
    expect((await e.repository.alerts())[0]).toMatchObject({ state: 'firing', value: 0.2 });
  });

  it('stays quiet on a correct table (0.1 % off)', async () => {
    const e = engine({ rules: [drift] });
    e.signals.pricing = { callsBilled: 5_000, driftRatio: 0.001 };
    for (let i = 0; i < 8; i++) await e.tick(5 * 60 * SECOND);
    expect(await e.repository.alerts()).toEqual([]);
    expect(e.notifier.sent).toHaveLength(0);
  });

  it('stays quiet below 20 billed calls, however far off, and goes pending at 20', async () => {
    const e = engine({ rules: [drift] });
    e.signals.pricing = { callsBilled: 19, driftRatio: 0.5 };
    for (let i = 0; i < 8; i++) await e.tick(5 * 60 * SECOND);
    expect(await e.repository.alerts()).toEqual([]);
    e.signals.pricing = { callsBilled: 20, driftRatio: 0.5 };
    await e.tick();
    expect((await e.repository.alerts())[0]).toMatchObject({ state: 'pending', value: 0.5 });
  });

  it('resolves with hysteresis: stays firing between 3 % and 5 %, resolves at 3 %', async () => {
    const e = engine({ rules: [drift], groupIntervalS: 10 });
    e.signals.pricing = { callsBilled: 50, driftRatio: 0.2 };
    await e.tick();
    await e.tick(FOR);
    for (const ratio of [0.04, -0.045, 0.031, 0.049]) {
      e.signals.pricing = { callsBilled: 60, driftRatio: ratio };
      await e.tick(60 * SECOND);
      expect((await e.repository.alerts())[0]?.state, `drift ${ratio}`).toBe('firing');
    }
    e.signals.pricing = { callsBilled: 60, driftRatio: -0.03 };
    const resolved = await e.tick(60 * SECOND);
    expect(resolved.transitions).toEqual([{ name: 'PricingTableDrift', labels: {}, from: 'firing', to: 'resolved' }]);
    expect(e.notifier.titles()).toEqual(['firing:PricingTableDrift:1/0', 'resolved:PricingTableDrift:0/1']);
    // Resolved, it does not come back inside the band.
    e.signals.pricing = { callsBilled: 60, driftRatio: 0.045 };
    await e.tick(FOR);
    expect((await e.repository.alerts())[0]?.state).toBe('resolved');
  });

  it('lets a firing alert resolve once the billed calls of the last 24 h fall below 20', async () => {
    const e = engine({ rules: [drift], groupIntervalS: 10 });
    e.signals.pricing = { callsBilled: 50, driftRatio: 0.2 };
    await e.tick();
    await e.tick(FOR);
    e.signals.pricing = { callsBilled: 12, driftRatio: 0.2 };
    await e.tick(60 * SECOND);
    expect((await e.repository.alerts())[0]?.state).toBe('resolved');
  });

  it('reads ai-proxy usage once per evaluation for the token and the pricing rules together', async () => {
    const e = engine({ rules: seed });
    e.signals.tokens = 10;
    e.signals.pricing = { callsBilled: 50, driftRatio: 0.2 };
    await e.tick();
    expect(e.signals.usageReads).toBe(1);
    await e.tick();
    expect(e.signals.usageReads).toBe(2);
    expect((await e.repository.alerts()).map((a) => a.name)).toEqual(['PricingTableDrift']);
  });

  it('keeps evaluating the token rules when the usage answer has no pricing_check, and logs that once', async () => {
    const tokens = rule();
    const e = engine({ rules: [tokens, drift], groupIntervalS: 10 });
    e.signals.pricing = { callsBilled: 50, driftRatio: 0.2 };
    await e.tick();
    await e.tick(FOR);
    e.signals.pricing = undefined;
    e.signals.tokens = 150;
    for (let i = 0; i < 3; i++) await e.tick();
    const states = Object.fromEntries((await e.repository.alerts()).map((a) => [a.name, a.state]));
    expect(states).toEqual({ HighTokenUsage: 'firing', PricingTableDrift: 'firing' });
    expect(e.logs.lines.filter((l) => l.includes('ai-proxy pricing check cannot be read'))).toHaveLength(1);
    e.signals.pricing = { callsBilled: 50, driftRatio: 0 };
    await e.tick();
    expect(e.logs.lines.filter((l) => l.includes('ai-proxy pricing check can be read again'))).toHaveLength(1);
    expect((await e.repository.alerts()).find((a) => a.name === 'PricingTableDrift')?.state).toBe('resolved');
  });
});

describe('grouping', () => {
  const perService = rule({
    name: 'ServiceDown',
    signal: 'service_health_failures',
    comparison: '>=',
    threshold: 1,
    resolveThreshold: 0,
    services: ['gateway', 'ai-proxy'],
  });

  it('waits group_wait before the first notification of a new group, and reports everything firing by then', async () => {
    const e = engine({ rules: [perService], groupWaitS: 30, groupIntervalS: 300, healthIntervalS: 10 });
    e.signals.healthy.gateway = false;
    await e.tick();
    e.signals.healthy['ai-proxy'] = false;
    await e.tick(20 * SECOND);
    expect(e.notifier.sent).toHaveLength(0);
    await e.tick(10 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:ServiceDown:2/0']);
  });

  it('reports a change at most once per group_interval, and an unchanged group again after repeat_interval', async () => {
    const e = engine({ rules: [perService], groupIntervalS: 300, repeatIntervalS: 3600, healthIntervalS: 10 });
    e.signals.healthy.gateway = false;
    await e.tick();
    expect(e.notifier.titles()).toEqual(['firing:ServiceDown:1/0']);
    e.signals.healthy['ai-proxy'] = false;
    await e.tick(100 * SECOND);
    expect(e.notifier.sent).toHaveLength(1);
    await e.tick(200 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:ServiceDown:1/0', 'firing:ServiceDown:2/0']);
    for (let i = 0; i < 11; i++) await e.tick(300 * SECOND);
    expect(e.notifier.sent).toHaveLength(2);
    await e.tick(300 * SECOND);
    expect(e.notifier.titles()[2]).toBe('firing:ServiceDown:2/0');
    expect(e.notifier.sent[2]?.repeat).toBe(true);
  });

  it('reports a member that resolved while others still fire, then a resolved notification when all cleared', async () => {
    const e = engine({ rules: [perService], groupIntervalS: 10, healthIntervalS: 10 });
    e.signals.healthy.gateway = false;
    e.signals.healthy['ai-proxy'] = false;
    await e.tick();
    e.signals.healthy.gateway = true;
    await e.tick();
    e.signals.healthy['ai-proxy'] = true;
    await e.tick();
    expect(e.notifier.titles()).toEqual([
      'firing:ServiceDown:2/0',
      'firing:ServiceDown:1/1',
      'resolved:ServiceDown:0/1',
    ]);
    expect(await e.repository.groups()).toEqual([]);
  });

  it('sends nothing for a group whose alerts resolved before group_wait ended', async () => {
    const e = engine({ rules: [rule()], groupWaitS: 60 });
    e.signals.tokens = 150;
    await e.tick();
    e.signals.tokens = 10;
    await e.tick(30 * SECOND);
    await e.tick(60 * SECOND);
    expect(e.notifier.sent).toHaveLength(0);
  });

  it('groups by name and severity: two rules are two groups, each notified once', async () => {
    const e = engine({
      rules: [rule(), rule({ name: 'ElevatedTokenUsage', severity: 'warning', threshold: 50, resolveThreshold: 40 })],
    });
    e.signals.tokens = 150;
    await e.tick();
    await e.tick();
    expect(e.notifier.titles().sort()).toEqual(['firing:ElevatedTokenUsage:1/0', 'firing:HighTokenUsage:1/0']);
  });
});

describe('silences', () => {
  async function silence(e: ReturnType<typeof engine>, matchers: Record<string, string>, durationS: number) {
    await e.repository.putSilence(
      {
        id: `s-${Math.random()}`,
        matchers,
        comment: '',
        createdBy: 'test',
        startsAtMs: e.clock.now,
        endsAtMs: e.clock.now + durationS * SECOND,
      },
      e.clock.now,
    );
  }

  it('sends nothing for a silenced alert, and notifies once the silence expired', async () => {
    const e = engine({ rules: [rule()], groupIntervalS: 10 });
    await silence(e, { name: 'HighTokenUsage' }, 60);
    e.signals.tokens = 150;
    await e.tick();
    await e.tick();
    expect((await e.repository.alerts())[0]?.state).toBe('firing');
    expect(e.notifier.sent).toHaveLength(0);
    await e.tick(60 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('matches every matcher by label equality, including name and severity', async () => {
    const serviceDown = rule({
      name: 'ServiceDown',
      signal: 'service_health_failures',
      comparison: '>=',
      threshold: 1,
      resolveThreshold: 0,
      services: ['gateway', 'ai-proxy'],
    });
    const e = engine({ rules: [serviceDown], healthIntervalS: 10 });
    await silence(e, { name: 'ServiceDown', service: 'gateway' }, 600);
    await silence(e, { name: 'ServiceDown', severity: 'warning' }, 600);
    e.signals.healthy.gateway = false;
    e.signals.healthy['ai-proxy'] = false;
    await e.tick();
    expect(e.notifier.sent).toHaveLength(1);
    expect(e.notifier.sent[0]?.firing.map((a) => a.labels.service)).toEqual(['ai-proxy']);
  });

  it('sends no resolved message for an alert that was silenced after it was reported', async () => {
    const e = engine({ rules: [rule()], groupIntervalS: 10 });
    e.signals.tokens = 150;
    await e.tick();
    await silence(e, { name: 'HighTokenUsage' }, 3600);
    await e.tick(20 * SECOND);
    e.signals.tokens = 10;
    await e.tick(20 * SECOND);
    await e.tick(20 * SECOND);
    expect(e.notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
  });
});

describe('two evaluators on one Redis (a leader that lost its lease still evaluating)', () => {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `flashcase-test:alerting-engine:${process.pid}:${Math.random().toString(36).slice(2)}:`;

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('sends each notification once: the notification log claim lets only one of them send', async () => {
    const signals = new ScriptedSignals();
    const notifier = new RecordingNotifier();
    signals.tokens = 150;
    const evaluators = [0, 1].map(() => {
      const store = new RedisAlertStateStore(new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), {
        keyPrefix: prefix,
      });
      return {
        store,
        evaluator: new Evaluator({
          rules: [rule()],
          repository: new AlertRepository(store),
          signals,
          notifier,
          timers: { groupWaitMs: 0, groupIntervalMs: 60_000, repeatIntervalMs: 3_600_000 },
          healthIntervalMs: 10_000,
          evalIntervalMs: 10_000,
          log: { info() {}, warn() {}, error() {}, debug() {} } as never,
        }),
      };
    });
    const now = Date.now();
    await Promise.all(evaluators.map((e) => e.evaluator.evaluate(now)));
    await Promise.all(evaluators.map((e) => e.evaluator.evaluate(now + 1_000)));
    expect(notifier.titles()).toEqual(['firing:HighTokenUsage:1/0']);
    await Promise.all(evaluators.map((e) => e.store.close()));
  });
});
