import type { Logger } from '@flashcase/telemetry';
import type { DeliveryReport } from '../notify/dispatcher';
import type { Notification } from '../notify/notification';
import type { AlertRule } from '../rules/alert-rule';
import type { SignalReader } from '../signals/reader';
import type { AlertRecord, NotificationRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import type { GroupTimers } from './grouping';
import { HealthChecks } from './health-checks';
import { SignalObserver } from './observer';
import { OutageLog } from './outages';
import { type AlertChange, type GroupStep, plan, type Transition } from './plan';

/** Where notifications go (the Dispatcher). */
export interface Notifier {
  dispatch(notification: Notification): Promise<DeliveryReport>;
}

/** What an {@link Evaluator} reads, writes and notifies through, and its timers. */
export interface EvaluatorOptions {
  rules: readonly AlertRule[];
  repository: AlertRepository;
  signals: SignalReader;
  notifier: Notifier;
  timers: GroupTimers;
  /** `HEALTH_CHECK_INTERVAL_S` in ms. */
  healthIntervalMs: number;
  /** `ALERT_EVAL_INTERVAL_S` in ms (health checks are due half an interval early, never skipped). */
  evalIntervalMs: number;
  log: Logger;
  /**
   * Asked once per evaluation, right before its first notification: true while this replica still
   * holds the evaluator lease. A replica that lost it sends nothing.
   */
  confirmLeadership?: () => Promise<boolean>;
}

/** What one evaluation did (for logs and tests). */
export interface EvaluationResult {
  transitions: Transition[];
  notifications: Notification[];
  alerts: AlertRecord[];
}

/**
 * One evaluation of every rule, run by the replica that holds the evaluator lease. This is the I/O
 * around {@link plan}, which makes every decision: it reads the shared state and the signals
 * (through the services' APIs), writes the alert changes the plan returns, then for each group in
 * order writes its change, or claims its notification in the notification log and, only when the
 * claim succeeded, writes the group and hands the notification to the notifier without waiting for
 * its delivery.
 *
 * A signal that cannot be read leaves its rules' alerts as they are and is logged once per outage.
 */
export class Evaluator {
  private readonly deliveries = new Set<Promise<unknown>>();
  private readonly health: HealthChecks;
  private readonly observer: SignalObserver;

  constructor(private readonly options: EvaluatorOptions) {
    const outages = new OutageLog(options.log);
    this.health = new HealthChecks({ ...options, outages });
    this.observer = new SignalObserver({ ...options, outages });
  }

  /** Evaluates every rule at `nowMs`; store failures reject (the loop retries next interval). */
  async evaluate(nowMs: number): Promise<EvaluationResult> {
    const { repository, timers, log } = this.options;
    const [alerts, groups, silences, health] = await Promise.all([
      repository.alerts(),
      repository.groups(),
      repository.silences(),
      this.health.check(nowMs),
    ]);
    const observations = await this.observer.observe(health, alerts);
    const planned = plan({ alerts, groups, silences }, observations, nowMs, timers);
    await Promise.all(planned.alertChanges.map((change) => this.writeAlert(change, nowMs)));
    for (const t of planned.transitions) {
      log.info(`Alert ${t.name} ${t.from} -> ${t.to}`, { alertname: t.name, labels: t.labels });
    }
    const notifications = await this.carryOut(planned.groups);
    return { transitions: planned.transitions, notifications, alerts: planned.alerts };
  }

  /** Resolves when the deliveries started so far have finished. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.deliveries]);
  }

  private writeAlert(change: AlertChange, nowMs: number): Promise<void> {
    const { repository } = this.options;
    return change.kind === 'put'
      ? repository.putAlert(change.alert, nowMs)
      : repository.deleteAlert(change.fingerprint);
  }

  /**
   * Writes each group's change in order, claiming its notification first when it has one. Leadership
   * is confirmed once, before the first claim: a replica that lost the lease stops there and leaves
   * the rest to the new leader.
   */
  private async carryOut(steps: readonly GroupStep[]): Promise<Notification[]> {
    const { repository, log } = this.options;
    const sent: Notification[] = [];
    let leadership: Promise<boolean> | undefined;
    for (const { change, claim } of steps) {
      if (claim) {
        leadership ??= this.options.confirmLeadership?.() ?? Promise.resolve(true);
        if (!(await leadership)) {
          log.warn('Evaluator lease lost during an evaluation: its notifications are left to the new leader');
          return sent;
        }
        // Claim first: if another evaluator already sent this one, we must not send it again.
        if (!(await repository.claimNotification(claim.record))) {
          log.warn(`Notification ${claim.notification.id} was already sent by another evaluator`);
          continue;
        }
      }
      if (change?.kind === 'put') await repository.putGroup(change.group);
      else if (change?.kind === 'delete') await repository.deleteGroup(change.key);
      if (claim) {
        sent.push(claim.notification);
        this.deliver(claim.notification, claim.record);
      }
    }
    return sent;
  }

  private deliver(notification: Notification, record: NotificationRecord): void {
    const delivery = this.options.notifier
      .dispatch(notification)
      .then((channels) => this.options.repository.completeNotification({ ...record, channels }))
      .catch((err: unknown) => this.options.log.warn('Notification outcome could not be recorded', { err }));
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }
}
