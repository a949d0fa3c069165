import {
  AI_USAGE_SIGNALS,
  type AlertRule,
  GATEWAY_SIGNALS,
  PER_SERVICE_SIGNALS,
  PER_USER_SIGNALS,
} from '../rules/alert-rule';
import type { AiUsage, GatewayStats, SignalReader, UserBudgetName } from '../signals/reader';
import type { AlertRecord, HealthRecord } from '../state/records';
import type { OutageLog } from './outages';
import type { InstanceObservation } from './plan';
import { fingerprint, instanceLabels, type Observation, observe } from './state-machine';

/** What {@link SignalObserver} needs. */
export interface SignalObserverOptions {
  rules: readonly AlertRule[];
  signals: SignalReader;
  outages: OutageLog;
}

/**
 * Reads the signals the rules need, each once per evaluation, and turns them into one observation
 * per alert instance. A signal that cannot be read gives its instances no observation (they are
 * left as they are) and is logged once per outage. ServiceDown's signal is the health check
 * itself, so a failed check is a value, not an outage.
 */
export class SignalObserver {
  constructor(private readonly options: SignalObserverOptions) {}

  /** Every rule's instances, with what this evaluation saw of them. */
  async observe(
    health: ReadonlyMap<string, HealthRecord>,
    stored: readonly AlertRecord[],
  ): Promise<InstanceObservation[]> {
    const { rules, signals } = this.options;
    let usage: Promise<AiUsage | undefined> | undefined;
    const stats = new Map<number, Promise<GatewayStats | undefined>>();
    const instances: InstanceObservation[] = [];
    for (const rule of rules) {
      if (PER_USER_SIGNALS.has(rule.signal)) {
        usage ??= this.read('ai-proxy usage', () => signals.aiUsage());
        instances.push(...(await this.observeUsers(rule, await usage, stored)));
      } else if (AI_USAGE_SIGNALS.has(rule.signal)) {
        usage ??= this.read('ai-proxy usage', () => signals.aiUsage());
        const value = await usage;
        instances.push({
          rule,
          labels: instanceLabels(rule, {}),
          observation: value === undefined ? undefined : this.observeUsage(rule, value),
        });
      } else if (GATEWAY_SIGNALS.has(rule.signal)) {
        let pending = stats.get(rule.windowS);
        if (!pending) {
          pending = this.read(`gateway stats (${rule.windowS} s)`, () => signals.gatewayStats(rule.windowS));
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
          instances.push({
            rule,
            labels: instanceLabels(rule, { service }),
            observation: observeHealth(rule, health.get(service)),
          });
        }
      }
    }
    return instances;
  }

  /** Reads one signal; a failure is noted as its outage and read as no value. */
  private async read<T>(name: string, load: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await load();
      this.options.outages.note(name, undefined);
      return value;
    } catch (err) {
      this.options.outages.note(
        name,
        `${(err as Error).message}; rules that need it are not evaluated until it can be read`,
      );
      return undefined;
    }
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
  ): Promise<InstanceObservation[]> {
    const { outages, signals } = this.options;
    const mine = stored.filter((a) => a.name === rule.name && a.labels.user && a.labels.budget);
    const keep = (alert: AlertRecord): InstanceObservation => ({ rule, labels: alert.labels, observation: undefined });
    const listed = usage?.usersNearBudget;
    outages.note(
      'ai-proxy users near budget',
      usage !== undefined && listed === undefined
        ? 'the usage answer has no users_near_budget; its rules are not evaluated'
        : undefined,
    );
    if (usage === undefined || listed === undefined) return mine.map(keep);
    const instances: InstanceObservation[] = [];
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
        signals.userBudgets(user).then(
          (ratios) => {
            outages.note('ai-proxy user budgets', undefined);
            return ratios;
          },
          (err: unknown) => {
            outages.note(
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
    const { outages } = this.options;
    if (rule.signal === 'ai_pricing_drift') {
      const check = usage.pricingCheck24h;
      outages.note(
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
      outages.note(
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
    outages.note(
      'ai-proxy tokens',
      tokens === undefined ? 'the usage answer has no last_hour.total_tokens; its rules are not evaluated' : undefined,
    );
    return tokens === undefined ? undefined : observe(rule, tokens);
  }
}

/**
 * A per-service rule's observation from the service's latest health record: the failure count,
 * or the memory reading of a service whose last check succeeded. No record (never checked) or no
 * memory reading is no observation: the instance stays as it is.
 */
export function observeHealth(rule: AlertRule, record: HealthRecord | undefined): Observation | undefined {
  if (!record) return undefined;
  if (rule.signal === 'service_health_failures') return observe(rule, record.consecutiveFailures);
  if (rule.signal === 'service_memory_utilization' && record.memoryUtilization !== undefined) {
    return record.consecutiveFailures === 0 ? observe(rule, record.memoryUtilization) : undefined;
  }
  return undefined;
}
