import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { observeHealth, SignalObserver } from '../../src/engine/observer';
import { OutageLog } from '../../src/engine/outages';
import { fingerprint, step } from '../../src/engine/state-machine';
import type { AlertRule } from '../../src/rules/alert-rule';
import type { AlertRecord } from '../../src/state/records';
import { rule, ScriptedSignals, T0 } from '../helpers/engine';

const NO_HEALTH = new Map();

describe('signal observer', () => {
  let lines: LineCapture;
  beforeEach(() => {
    lines = new LineCapture();
    setupLogging({ environment: 'test', stream: lines, otlp: false });
  });
  const observer = (rules: AlertRule[], signals: ScriptedSignals) =>
    new SignalObserver({ rules, signals, outages: new OutageLog(getLogger('alerting.test')) });

  it('reads ai-proxy usage once for every usage rule, and gateway stats once per window', async () => {
    const signals = new ScriptedSignals();
    signals.tokens = 150;
    signals.pricing = { callsBilled: 50, driftRatio: -0.2 };
    signals.stats = { requests: 100, status5xx: 10, errorRate: 0.1, latencyP95S: 2 };
    const rules = [
      rule(),
      rule({ name: 'Drift', signal: 'ai_pricing_drift', threshold: 0.05, resolveThreshold: 0.03 }),
      rule({ name: 'Errors', signal: 'gateway_error_rate', threshold: 0.05, resolveThreshold: 0.03 }),
      rule({ name: 'Latency', signal: 'gateway_latency_p95_s', threshold: 1, resolveThreshold: 0.5 }),
    ];
    const seen = await observer(rules, signals).observe(NO_HEALTH, []);
    expect(signals.usageReads).toBe(1);
    expect(seen.map((s) => [s.rule.name, s.observation?.value, s.observation?.breaching])).toEqual([
      ['HighTokenUsage', 150, true],
      ['Drift', 0.2, true],
      ['Errors', 0.1, true],
      ['Latency', 2, true],
    ]);
  });

  it('gives no observation for a signal it cannot read, and logs the outage once', async () => {
    const signals = new ScriptedSignals();
    signals.tokens = undefined;
    signals.stats = undefined;
    const rules = [rule(), rule({ name: 'Errors', signal: 'gateway_error_rate' })];
    const o = observer(rules, signals);
    for (let i = 0; i < 3; i++) {
      const seen = await o.observe(NO_HEALTH, []);
      expect(seen.map((s) => s.observation)).toEqual([undefined, undefined]);
    }
    expect(lines.lines.filter((l) => l.includes('cannot be read'))).toHaveLength(2);
  });

  it('gates the gateway rules on traffic: too few requests clear, never breach', async () => {
    const signals = new ScriptedSignals();
    signals.stats = { requests: 5, status5xx: 5, errorRate: 1, latencyP95S: 3 };
    const [seen] = await observer([rule({ signal: 'gateway_error_rate', minRequests: 20 })], signals).observe(
      NO_HEALTH,
      [],
    );
    expect(seen?.observation).toEqual({ value: 1, breaching: false, clear: true });
  });

  it('observes each user near a budget, and reads alone a user whose alert left the list', async () => {
    const users = rule({ name: 'Users', signal: 'ai_user_budget_ratio', threshold: 0.8, resolveThreshold: 0.76 });
    const signals = new ScriptedSignals();
    signals.near = [{ userId: 'amy', budget: 'user_daily_usd', usedRatio: 0.9 }];
    signals.userRatios = { bob: { user_monthly_usd: 0.78 } };
    const bobLabels = { user: 'bob', budget: 'user_monthly_usd' };
    const bob = step(users, bobLabels, undefined, { value: 0.85, breaching: true, clear: false }, T0)
      .next as AlertRecord;
    const seen = await observer([users], signals).observe(NO_HEALTH, [bob]);
    expect(seen.map((s) => [s.labels.user, s.observation?.value])).toEqual([
      ['amy', 0.9],
      ['bob', 0.78],
    ]);
    expect(signals.userBudgetReads).toEqual(['bob']);
    expect(fingerprint('Users', seen[1]?.labels ?? {})).toBe(bob.fingerprint);
  });

  it('reads the monthly budget as a ratio, used up once it refuses calls, and as no value without a limit', async () => {
    const monthly = rule({ name: 'Monthly', signal: 'ai_monthly_budget_ratio', threshold: 1, resolveThreshold: 0.95 });
    const signals = new ScriptedSignals();
    signals.monthly = { spentUsd: 90, limitUsd: 100, refusedToday: 0 };
    const o = observer([monthly], signals);
    expect((await o.observe(NO_HEALTH, []))[0]?.observation?.value).toBe(0.9);
    signals.monthly = { spentUsd: 99, limitUsd: 100, refusedToday: 3 };
    expect((await o.observe(NO_HEALTH, []))[0]?.observation?.value).toBe(1);
    signals.monthly = { spentUsd: 500, limitUsd: null, refusedToday: 0 };
    expect((await o.observe(NO_HEALTH, []))[0]?.observation).toEqual({ value: null, breaching: false, clear: true });
  });
});

describe('per-service observations from health records', () => {
  const down = rule({ signal: 'service_health_failures', comparison: '>=', threshold: 3, resolveThreshold: 0 });
  const memory = rule({ signal: 'service_memory_utilization', threshold: 0.8, resolveThreshold: 0.75 });

  it('reads the failure count, and memory only from a service whose last check succeeded', () => {
    const failing = { service: 'gateway', consecutiveFailures: 3, checkedAtMs: T0, memoryUtilization: 0.9 };
    const healthy = { service: 'gateway', consecutiveFailures: 0, checkedAtMs: T0, memoryUtilization: 0.9 };
    expect(observeHealth(down, failing)).toEqual({ value: 3, breaching: true, clear: false });
    expect(observeHealth(memory, failing)).toBeUndefined();
    expect(observeHealth(memory, healthy)).toEqual({ value: 0.9, breaching: true, clear: false });
    expect(observeHealth(down, undefined)).toBeUndefined();
    expect(observeHealth(memory, { service: 'gateway', consecutiveFailures: 0, checkedAtMs: T0 })).toBeUndefined();
  });
});
