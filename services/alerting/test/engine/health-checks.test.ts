import { EmbeddedAlertStateStore } from '@flashcase/store';
import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { HealthChecks, healthCheckDue, nextHealth } from '../../src/engine/health-checks';
import { OutageLog } from '../../src/engine/outages';
import { AlertRepository } from '../../src/state/repository';
import { rule, ScriptedSignals, T0 } from '../helpers/engine';

const SECOND = 1000;

describe('when a health check is due', () => {
  it('is due for a service never checked, and half an evaluation interval before the health interval ends', () => {
    expect(healthCheckDue(undefined, T0, 30 * SECOND, 10 * SECOND)).toBe(true);
    const checked = { service: 'gateway', consecutiveFailures: 0, checkedAtMs: T0 };
    expect(healthCheckDue(checked, T0 + 24 * SECOND, 30 * SECOND, 10 * SECOND)).toBe(false);
    expect(healthCheckDue(checked, T0 + 25 * SECOND, 30 * SECOND, 10 * SECOND)).toBe(true);
  });
});

describe('the health record after a check', () => {
  it('counts consecutive failures and resets the count on the first good check, keeping its memory reading', () => {
    const once = nextHealth('ai-proxy', undefined, { ok: false, error: 'ECONNREFUSED' }, T0);
    const twice = nextHealth('ai-proxy', once, { ok: false }, T0 + 10 * SECOND);
    expect(once).toEqual({ service: 'ai-proxy', consecutiveFailures: 1, checkedAtMs: T0, lastError: 'ECONNREFUSED' });
    expect(twice).toMatchObject({ consecutiveFailures: 2, lastError: 'failed' });
    expect(nextHealth('ai-proxy', twice, { ok: true, memoryUtilization: 0.4 }, T0 + 20 * SECOND)).toEqual({
      service: 'ai-proxy',
      consecutiveFailures: 0,
      checkedAtMs: T0 + 20 * SECOND,
      memoryUtilization: 0.4,
    });
    expect(nextHealth('ai-proxy', twice, { ok: true }, T0)).not.toHaveProperty('memoryUtilization');
  });
});

describe('health checks of the watched services', () => {
  let lines: LineCapture;
  beforeEach(() => {
    lines = new LineCapture();
    setupLogging({ environment: 'test', stream: lines, otlp: false });
  });

  function checks(signals: ScriptedSignals, repository: AlertRepository, outages: OutageLog) {
    return new HealthChecks({
      rules: [
        rule({ name: 'Down', signal: 'service_health_failures', services: ['gateway', 'ai-proxy'] }),
        rule({ name: 'Mem', signal: 'service_memory_utilization', services: ['gateway'] }),
        rule(),
      ],
      repository,
      signals,
      outages,
      healthIntervalMs: 30 * SECOND,
      evalIntervalMs: 10 * SECOND,
    });
  }

  it('checks each watched service once per interval and keeps the records in the shared store', async () => {
    const signals = new ScriptedSignals();
    signals.healthy['ai-proxy'] = false;
    const repository = new AlertRepository(new EmbeddedAlertStateStore());
    const outages = new OutageLog(getLogger('alerting.test'));
    const health = checks(signals, repository, outages);
    const first = await health.check(T0);
    expect(signals.healthChecks).toBe(2);
    expect(first.get('ai-proxy')).toMatchObject({ consecutiveFailures: 1 });
    await health.check(T0 + 10 * SECOND);
    expect(signals.healthChecks).toBe(2);
    // A new evaluator (another HealthChecks on the same store) counts on from the stored records.
    const third = await checks(signals, repository, outages).check(T0 + 30 * SECOND);
    expect(signals.healthChecks).toBe(4);
    expect(third.get('ai-proxy')).toMatchObject({ consecutiveFailures: 2 });
    expect((await repository.health()).map((r) => r.service).sort()).toEqual(['ai-proxy', 'gateway']);
    // The outage is logged when it starts, not at every failed check.
    expect(lines.lines.filter((l) => l.includes('health check of ai-proxy failed'))).toHaveLength(1);
  });

  it('checks nothing when no rule watches a service', async () => {
    const signals = new ScriptedSignals();
    const health = new HealthChecks({
      rules: [rule()],
      repository: new AlertRepository(new EmbeddedAlertStateStore()),
      signals,
      outages: new OutageLog(getLogger('alerting.test')),
      healthIntervalMs: 30 * SECOND,
      evalIntervalMs: 10 * SECOND,
    });
    expect((await health.check(T0)).size).toBe(0);
    expect(signals.healthChecks).toBe(0);
  });
});
