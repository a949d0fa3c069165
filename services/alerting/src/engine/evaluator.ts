import type { Logger } from '@flashcase/telemetry';
import type { DeliveryReport } from '../notify/dispatcher';
import type { Notification } from '../notify/notification';
import {
  AI_USAGE_SIGNALS,
  type AlertRule,
  GATEWAY_SIGNALS,
  PER_SERVICE_SIGNALS,
  PER_USER_SIGNALS,
  type WatchedService,
} from '../rules/types';
import type { AiUsage, GatewayStats, SignalReader, UserBudgetName } from '../signals/reader';
import type { AlertRecord, GroupRecord, HealthRecord, NotificationRecord, SilenceRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import { alertView } from '../state/views';
import { type GroupTimers, groupKey, planGroup } from './grouping';
import { isSilenced } from './silences';
import { fingerprint, instanceLabels, type Observation, observe, step } from './state-machine';

/** Where notifications go (the Dispatcher). */
export interface Notifier {
  dispatch(notification: Notification): Promise<DeliveryReport>;
}

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
  transitions: Array<{ name: string; labels: Record<string, string>; from: string; to: string }>;
  notifications: Notification[];
  alerts: AlertRecord[];
}

interface Instance {
  rule: AlertRule;
  labels: Record<string, string>;
  observation: Observation | undefined;
}

/**
 * One evaluation of every rule, run by the replica that holds the evaluator lease: reads the
 * signals through the services' APIs, steps each alert instance's state machine, keeps the state in
 * the shared store, plans each group's notifications (group wait / interval / repeat, silences)
 * and hands due notifications to the notifier without waiting for their delivery.
 *
 * A signal that cannot be read leaves its rules' alerts as they are and is logged once per outage.
 * ServiceDown's signal is the health check itself, so a failed check is a value, not an outage.
 */
export class Evaluator {
  private readonly outages = new Set<string>();
  private readonly deliveries = new Set<Promise<unknown>>();

  constructor(private readonly options: EvaluatorOptions) {}

  async evaluate(nowMs: number): Promise<EvaluationResult> {
    const { repository } = this.options;
    const [stored, groups, silences, health] = await Promise.all([
      repository.alerts(),
      repository.groups(),
      repository.silences(),
      this.checkHealth(nowMs),
    ]);
    const instances = await this.observe(health, stored);
    const result: EvaluationResult = { transitions: [], notifications: [], alerts: [] };

    const byFingerprint = new Map(stored.map((a) => [a.fingerprint, a]));
    const current = new Map<string, AlertRecord>();
    const writes: Promise<void>[] = [];
    const expected = new Set<string>();
    for (const { rule, labels, observation } of instances) {
      const fp = fingerprint(rule.name, labels);
      expected.add(fp);
      const previous = byFingerprint.get(fp);
      const { next, transition } = step(rule, labels, previous, observation, nowMs);
      if (transition) {
        result.transitions.push({
          name: rule.name,
          labels,
          from: previous?.state ?? 'inactive',
          to: next?.state ?? 'inactive',
        });
      }
      if (next) current.set(fp, next);
      if (next === undefined && previous !== undefined) writes.push(repository.deleteAlert(fp));
      else if (next !== undefined && JSON.stringify(next) !== JSON.stringify(previous)) {
        writes.push(repository.putAlert(next, nowMs));
      }
    }
    // Alerts of rules (or services) no longer configured: a firing one resolves, a pending one goes.
    for (const alert of stored) {
      if (expected.has(alert.fingerprint)) continue;
      if (alert.state === 'resolved') current.set(alert.fingerprint, alert);
      else if (alert.state === 'pending') writes.push(repository.deleteAlert(alert.fingerprint));
      else {
        const resolved: AlertRecord = { ...alert, state: 'resolved', resolvedAtMs: nowMs, evaluatedAtMs: nowMs };
        current.set(alert.fingerprint, resolved);
        writes.push(repository.putAlert(resolved, nowMs));
        result.transitions.push({ name: alert.name, labels: alert.labels, from: 'firing', to: 'resolved' });
      }
    }
    await Promise.all(writes);
    for (const t of result.transitions) {
      this.options.log.info(`Alert ${t.name} ${t.from} -> ${t.to}`, { alertname: t.name, labels: t.labels });
    }
    result.alerts = [...current.values()];
    result.notifications = await this.planNotifications(result.alerts, groups, silences, nowMs);
    return result;
  }

  /** Resolves when the deliveries started so far have finished. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.deliveries]);
  }

  private async planNotifications(
    alerts: AlertRecord[],
    groups: GroupRecord[],
    silences: SilenceRecord[],
    nowMs: number,
  ): Promise<Notification[]> {
    const { repository, timers } = this.options;
    const members = new Map<string, AlertRecord[]>();
    for (const alert of alerts) {
      const key = groupKey(alert);
      members.set(key, [...(members.get(key) ?? []), alert]);
    }
    const existing = new Map(groups.map((g) => [g.key, g]));
    const keys = new Set([...members.keys(), ...existing.keys()]);
    const silenced = (alert: AlertRecord) => isSilenced(alert, silences, nowMs);
    const sent: Notification[] = [];
    let leadership: Promise<boolean> | undefined;

    for (const key of [...keys].sort()) {
      const group = existing.get(key);
      const list = members.get(key) ?? [];
      const first = list[0];
      const identity = group ?? (first ? { key, name: first.name, severity: first.severity } : undefined);
      if (!identity) continue;
      const plan = planGroup(group, list, silenced, nowMs, timers, {
        key,
        name: identity.name,
        severity: identity.severity,
      });
      if (!plan.notification) {
        if (plan.group === undefined && group !== undefined) await repository.deleteGroup(key);
        else if (plan.group !== undefined && JSON.stringify(plan.group) !== JSON.stringify(group)) {
          await repository.putGroup(plan.group);
        }
        continue;
      }
      leadership ??= this.options.confirmLeadership?.() ?? Promise.resolve(true);
      if (!(await leadership)) {
        this.options.log.warn(
          'Evaluator lease lost during an evaluation: its notifications are left to the new leader',
        );
        return sent;
      }
      const seq = (group?.seq ?? 0) + 1;
      // A group's episode is named by its creation time, so a new episode never reuses an old id.
      const episode = plan.group?.createdAtMs ?? group?.createdAtMs ?? nowMs;
      const record: NotificationRecord = {
        groupKey: key,
        episode,
        seq,
        status: plan.notification.status,
        firing: plan.notification.firing.map((a) => a.fingerprint),
        resolved: plan.notification.resolved.map((a) => a.fingerprint),
        createdAtMs: nowMs,
        channels: {},
      };
      // Claim first: if another evaluator already sent this one, we must not send it again.
      if (!(await repository.claimNotification(record))) {
        this.options.log.warn(`Notification ${key}:${episode}:${seq} was already sent by another evaluator`);
        continue;
      }
      if (plan.group === undefined) await repository.deleteGroup(key);
      else await repository.putGroup(plan.group);
      const notification: Notification = {
        id: `${key}:${episode}:${seq}`,
        groupKey: key,
        name: identity.name,
        severity: identity.severity,
        status: plan.notification.status,
        repeat: plan.notification.repeat,
        firing: plan.notification.firing.map((a) => alertView(a)),
        resolved: plan.notification.resolved.map((a) => alertView(a)),
        signal:
          (plan.notification.firing[0] ?? plan.notification.resolved[0] ?? first)?.signal ?? 'ai_tokens_last_hour',
        createdAt: new Date(nowMs).toISOString(),
      };
      sent.push(notification);
      this.deliver(notification, record);
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

  /** Runs the due health checks and stores their counts; returns every service's latest record. */
  private async checkHealth(nowMs: number): Promise<Map<string, HealthRecord>> {
    const services = new Set<WatchedService>();
    for (const rule of this.options.rules) for (const service of rule.services) services.add(service);
    const records = new Map((await this.options.repository.health()).map((r) => [r.service, r]));
    if (services.size === 0) return records;
    const dueAfter = this.options.healthIntervalMs - this.options.evalIntervalMs / 2;
    await Promise.all(
      [...services].map(async (service) => {
        const previous = records.get(service);
        if (previous && nowMs - previous.checkedAtMs < dueAfter) return;
        const probe = await this.options.signals.health(service);
        const next: HealthRecord = probe.ok
          ? { service, consecutiveFailures: 0, checkedAtMs: nowMs, ...memory(probe.memoryUtilization) }
          : {
              service,
              consecutiveFailures: (previous?.consecutiveFailures ?? 0) + 1,
              checkedAtMs: nowMs,
              lastError: probe.error ?? 'failed',
            };
        this.noteOutage(
          `health:${service}`,
          probe.ok ? undefined : `health check of ${service} failed: ${probe.error}`,
        );
        records.set(service, next);
        await this.options.repository.putHealth(next);
      }),
    );
    return records;
  }

  /** Reads each signal the rules need (once per evaluation) and observes every instance. */
  private async observe(health: Map<string, HealthRecord>, stored: readonly AlertRecord[]): Promise<Instance[]> {
    const { rules, signals } = this.options;
    let usage: Promise<AiUsage | undefined> | undefined;
    const stats = new Map<number, Promise<GatewayStats | undefined>>();
    const read = async <T>(name: string, load: () => Promise<T>): Promise<T | undefined> => {
      try {
        const value = await load();
        this.noteOutage(name, undefined);
        return value;
      } catch (err) {
        this.noteOutage(name, `${(err as Error).message}; rules that need it are not evaluated until it can be read`);
        return undefined;
      }
    };
    const instances: Instance[] = [];
    for (const rule of rules) {
      if (PER_USER_SIGNALS.has(rule.signal)) {
        usage ??= read('ai-proxy usage', () => signals.aiUsage());
        instances.push(...(await this.observeUsers(rule, await usage, stored)));
      } else if (AI_USAGE_SIGNALS.has(rule.signal)) {
        usage ??= read('ai-proxy usage', () => signals.aiUsage());
        const value = await usage;
        instances.push({
          rule,
          labels: instanceLabels(rule, {}),
          observation: value === undefined ? undefined : this.observeUsage(rule, value),
        });
      } else if (GATEWAY_SIGNALS.has(rule.signal)) {
        let pending = stats.get(rule.windowS);
        if (!pending) {
          pending = read(`gateway stats (${rule.windowS} s)`, () => signals.gatewayStats(rule.windowS));
          stats.set(rule.windowS, pending);
        }
        const value = await pending;
        const observation =
          value === undefined
            ? undefined
            : observe(
                rule,
                rule.signal === 'gateway_error_rate' ? value.errorRate : value.latencyP95S,
                value.requests >= rule.minRequests,
              );
        instances.push({ rule, labels: instanceLabels(rule, {}), observation });
      } else if (PER_SERVICE_SIGNALS.has(rule.signal)) {
        for (const service of rule.services) {
          const record = health.get(service);
          let observation: Observation | undefined;
          if (record && rule.signal === 'service_health_failures')
            observation = observe(rule, record.consecutiveFailures);
          if (record && rule.signal === 'service_memory_utilization' && record.memoryUtilization !== undefined) {
            observation = record.consecutiveFailures === 0 ? observe(rule, record.memoryUtilization) : undefined;
          }
          instances.push({ rule, labels: instanceLabels(rule, { service }), observation });
        }
      }
    }
    return instances;
  }

  /**
   * The instances of a per-user budget rule: one per user and budget in `users_near_budget`, plus
   * each user whose pending or firing alert left the list, read alone so hysteresis holds (a user
   * between the resolve threshold and the soft ratio stays firing; a new day or month, or a raised
   * budget, resolves). Unreadable usage leaves every instance as it is.
   */
  private async observeUsers(
    rule: AlertRule,
    usage: AiUsage | undefined,
    stored: readonly AlertRecord[],
  ): Promise<Instance[]> {
    const mine = stored.filter((a) => a.name === rule.name && a.labels.user && a.labels.budget);
    const keep = (alert: AlertRecord): Instance => ({ rule, labels: alert.labels, observation: undefined });
    const listed = usage?.usersNearBudget;
    this.noteOutage(
      'ai-proxy users near budget',
      usage !== undefined && listed === undefined
        ? 'the usage answer has no users_near_budget; its rules are not evaluated'
        : undefined,
    );
    if (usage === undefined || listed === undefined) return mine.map(keep);
    const instances: Instance[] = [];
    const seen = new Set<string>();
    for (const entry of listed) {
      const labels = instanceLabels(rule, { user: entry.userId, budget: entry.budget });
      seen.add(fingerprint(rule.name, labels));
      instances.push({ rule, labels, observation: observe(rule, entry.usedRatio) });
    }
    const left = mine.filter((a) => !seen.has(a.fingerprint));
    // One read per user (both their budgets in one answer), all at once.
    const reads = new Map<string, Promise<Record<UserBudgetName, number | null> | undefined>>();
    for (const alert of left) {
      const user = alert.labels.user as string;
      if (alert.state === 'resolved' || reads.has(user)) continue;
      reads.set(
        user,
        this.options.signals.userBudgets(user).then(
          (ratios) => {
            this.noteOutage('ai-proxy user budgets', undefined);
            return ratios;
          },
          (err: unknown) => {
            this.noteOutage(
              'ai-proxy user budgets',
              `${(err as Error).message}; those users' alerts are kept as they are`,
            );
            return undefined;
          },
        ),
      );
    }
    for (const alert of left) {
      const ratios = alert.state === 'resolved' ? undefined : await reads.get(alert.labels.user as string);
      const ratio = ratios?.[alert.labels.budget as UserBudgetName];
      instances.push({
        rule,
        labels: alert.labels,
        observation: ratios === undefined ? undefined : observe(rule, ratio ?? null),
      });
    }
    return instances;
  }

  /**
   * Observes an ai-proxy usage rule. A field the answer lacks is an outage of its own signal (logged
   * once), so a usage answer without `pricing_check` still feeds the token rules.
   */
  private observeUsage(rule: AlertRule, usage: AiUsage): Observation | undefined {
    if (rule.signal === 'ai_pricing_drift') {
      const check = usage.pricingCheck24h;
      this.noteOutage(
        'ai-proxy pricing check',
        check === undefined ? 'the usage answer has no pricing_check.last_24h; its rules are not evaluated' : undefined,
      );
      // The ratio is signed (priced - billed): a table that overcharges is as wrong as one that undercharges.
      return check === undefined
        ? undefined
        : observe(rule, Math.abs(check.driftRatio), check.callsBilled >= rule.minRequests);
    }
    if (rule.signal === 'ai_monthly_budget_ratio') {
      const budget = usage.monthlyBudget;
      this.noteOutage(
        'ai-proxy monthly budget',
        budget === undefined ? 'the usage answer has no budgets[monthly_usd]; its rules are not evaluated' : undefined,
      );
      if (budget === undefined) return undefined;
      // No limit: nothing to be near; a firing alert resolves (the limit was removed). A budget that
      // refuses calls is used up (1), though the spend stops a call's worst case below the limit.
      if (budget.limitUsd === null) return observe(rule, null);
      const ratio = budget.spentUsd / budget.limitUsd;
      return observe(rule, budget.refusedToday > 0 ? Math.max(1, ratio) : ratio);
    }
    const tokens = usage.tokensLastHour;
    this.noteOutage(
      'ai-proxy tokens',
      tokens === undefined ? 'the usage answer has no last_hour.total_tokens; its rules are not evaluated' : undefined,
    );
    return tokens === undefined ? undefined : observe(rule, tokens);
  }

  /** Logs a signal's outage once when it starts (`problem` set) and once when it ends. */
  private noteOutage(name: string, problem: string | undefined): void {
    if (problem !== undefined && !this.outages.has(name)) {
      this.outages.add(name);
      this.options.log.warn(`Signal ${name} cannot be read: ${problem}`, { signal: name });
    } else if (problem === undefined && this.outages.delete(name)) {
      this.options.log.info(`Signal ${name} can be read again`, { signal: name });
    }
  }
}

function memory(utilization: number | undefined): { memoryUtilization?: number } {
  return utilization === undefined ? {} : { memoryUtilization: utilization };
}
