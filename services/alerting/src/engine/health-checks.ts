import type { AlertRule, WatchedService } from '../rules/alert-rule';
import type { HealthProbe, SignalReader } from '../signals/reader';
import type { HealthRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import type { OutageLog } from './outages';

/** What {@link HealthChecks} needs. */
export interface HealthChecksOptions {
  rules: readonly AlertRule[];
  repository: AlertRepository;
  signals: SignalReader;
  outages: OutageLog;
  /** `HEALTH_CHECK_INTERVAL_S` in ms. */
  healthIntervalMs: number;
  /** `ALERT_EVAL_INTERVAL_S` in ms. */
  evalIntervalMs: number;
}

/**
 * Whether a service's health check is due at `nowMs`. Checks are due half an evaluation interval
 * early, so an evaluation that runs a little before the interval ends never skips one.
 */
export function healthCheckDue(
  previous: HealthRecord | undefined,
  nowMs: number,
  healthIntervalMs: number,
  evalIntervalMs: number,
): boolean {
  return previous === undefined || nowMs - previous.checkedAtMs >= healthIntervalMs - evalIntervalMs / 2;
}

/**
 * A service's health record after a check: a good one resets the count of consecutive failures
 * and keeps the memory reading; a failed one adds one to the count and keeps the reason.
 */
export function nextHealth(
  service: string,
  previous: HealthRecord | undefined,
  probe: HealthProbe,
  nowMs: number,
): HealthRecord {
  if (probe.ok) {
    return {
      service,
      consecutiveFailures: 0,
      checkedAtMs: nowMs,
      ...(probe.memoryUtilization === undefined ? {} : { memoryUtilization: probe.memoryUtilization }),
    };
  }
  return {
    service,
    consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
    checkedAtMs: nowMs,
    lastError: probe.error ?? 'failed',
  };
}

/**
 * The health checks of the services the rules watch, every `HEALTH_CHECK_INTERVAL_S`. The counts
 * live in the shared store, so a new evaluator counts on from where the old one stopped.
 */
export class HealthChecks {
  private readonly services: readonly WatchedService[];

  constructor(private readonly options: HealthChecksOptions) {
    const services = new Set<WatchedService>();
    for (const rule of options.rules) for (const service of rule.services) services.add(service);
    this.services = [...services];
  }

  /** Runs the due checks and stores their records; returns every service's latest record. */
  async check(nowMs: number): Promise<Map<string, HealthRecord>> {
    const { repository, signals, outages, healthIntervalMs, evalIntervalMs } = this.options;
    const records = new Map((await repository.health()).map((r) => [r.service, r]));
    if (this.services.length === 0) return records;
    await Promise.all(
      this.services.map(async (service) => {
        const previous = records.get(service);
        if (!healthCheckDue(previous, nowMs, healthIntervalMs, evalIntervalMs)) return;
        const probe = await signals.health(service);
        const next = nextHealth(service, previous, probe, nowMs);
        outages.note(`health:${service}`, probe.ok ? undefined : `health check of ${service} failed: ${probe.error}`);
        records.set(service, next);
        await repository.putHealth(next);
      }),
    );
    return records;
  }
}
