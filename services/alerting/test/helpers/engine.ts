import { EmbeddedAlertStateStore } from '@flashcase/store';
import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import { Evaluator } from '../../src/engine/evaluator';
import type { DeliveryReport } from '../../src/notify/dispatcher';
import type { Notification } from '../../src/notify/notification';
import type { AlertRule, WatchedService } from '../../src/rules/alert-rule';
import type {
  AiUsage,
  GatewayStats,
  HealthProbe,
  MonthlyBudget,
  PricingCheck,
  SignalReader,
  UserBudgetName,
  UserNearBudget,
} from '../../src/signals/reader';
import { SignalError } from '../../src/signals/reader';
import { AlertRepository } from '../../src/state/repository';

/**
 * Signal values the test sets by hand; `undefined` = the signal cannot be read (`tokens`: ai-proxy's
 * usage call fails as a whole; `pricing`: its answer has no `pricing_check`).
 */
export class ScriptedSignals implements SignalReader {
  tokens: number | undefined = 0;
  pricing: PricingCheck | undefined = { callsBilled: 0, driftRatio: 0 };
  monthly: MonthlyBudget | undefined = { spentUsd: 0, limitUsd: null, refusedToday: 0 };
  near: UserNearBudget[] | undefined = [];
  /** What `GET /api/v1/ai/budgets/users/:id` answers per user (unset = no budget used). */
  userRatios: Record<string, Partial<Record<UserBudgetName, number | null>>> = {};
  userBudgetReads: string[] = [];
  usageReads = 0;
  stats: Omit<GatewayStats, 'windowS'> | undefined = { requests: 0, status5xx: 0, errorRate: 0, latencyP95S: null };
  healthy: Record<string, boolean> = { gateway: true, 'ai-proxy': true, alerting: true };
  memory: Record<string, number> = { gateway: 0.1, 'ai-proxy': 0.1, alerting: 0.1 };
  healthChecks = 0;

  async aiUsage(): Promise<AiUsage> {
    this.usageReads++;
    if (this.tokens === undefined) throw new SignalError('ai-proxy usage: ECONNREFUSED');
    return {
      tokensLastHour: this.tokens,
      pricingCheck24h: this.pricing,
      monthlyBudget: this.monthly,
      usersNearBudget: this.near,
    };
  }

  async userBudgets(userId: string): Promise<Record<UserBudgetName, number | null>> {
    this.userBudgetReads.push(userId);
    return { user_daily_usd: 0, user_monthly_usd: 0, ...this.userRatios[userId] };
  }

  async gatewayStats(windowS: number): Promise<GatewayStats> {
    if (!this.stats) throw new SignalError('gateway stats: HTTP 502');
    return { windowS, ...this.stats };
  }

  async health(service: WatchedService): Promise<HealthProbe> {
    this.healthChecks++;
    return this.healthy[service]
      ? { ok: true, memoryUtilization: this.memory[service] ?? 0 }
      : { ok: false, error: 'ECONNREFUSED' };
  }
}

/** Keeps every notification it is given. */
export class RecordingNotifier {
  readonly sent: Notification[] = [];
  async dispatch(notification: Notification): Promise<DeliveryReport> {
    this.sent.push(notification);
    return { slack: 'sent' };
  }
  titles(): string[] {
    return this.sent.map((n) => `${n.status}:${n.name}:${n.firing.length}/${n.resolved.length}`);
  }
}

/** A rule with the test's defaults (critical, tokens, threshold 100, resolve 80, for 0). */
export function rule(overrides: Partial<AlertRule> = {}): AlertRule {
  return {
    name: 'HighTokenUsage',
    severity: 'critical',
    signal: 'ai_tokens_last_hour',
    comparison: '>',
    threshold: 100,
    resolveThreshold: 80,
    forS: 0,
    windowS: 300,
    minRequests: 20,
    services: [],
    labels: {},
    summary: 'tokens {{value}} over {{threshold}}',
    runbookUrl: 'docs/runbook.md#hightokenusage',
    ...overrides,
  };
}

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export interface EngineFixture {
  clock: { now: number };
  store: EmbeddedAlertStateStore;
  repository: AlertRepository;
  signals: ScriptedSignals;
  notifier: RecordingNotifier;
  evaluator: Evaluator;
  logs: LineCapture;
  /** Advances the clock by `ms`, then evaluates once. */
  tick(ms?: number): ReturnType<Evaluator['evaluate']>;
}

export interface EngineOptions {
  rules: AlertRule[];
  groupWaitS?: number;
  groupIntervalS?: number;
  repeatIntervalS?: number;
  healthIntervalS?: number;
  evalIntervalS?: number;
  /** Share another fixture's store and signals (a second evaluator, or a new leader). */
  sharing?: Pick<EngineFixture, 'clock' | 'store' | 'signals' | 'notifier' | 'logs'>;
}

/** An evaluator on the embedded store with a clock the test moves, scripted signals and a recorder. */
export function engine({
  rules,
  groupWaitS = 0,
  groupIntervalS = 60,
  repeatIntervalS = 3600,
  healthIntervalS = 10,
  evalIntervalS = 10,
  sharing,
}: EngineOptions): EngineFixture {
  const clock = sharing?.clock ?? { now: T0 };
  const logs = sharing?.logs ?? new LineCapture();
  if (!sharing) setupLogging({ environment: 'test', stream: logs, otlp: false });
  const store = sharing?.store ?? new EmbeddedAlertStateStore({ now: () => clock.now });
  const repository = new AlertRepository(store);
  const signals = sharing?.signals ?? new ScriptedSignals();
  const notifier = sharing?.notifier ?? new RecordingNotifier();
  const evaluator = new Evaluator({
    rules,
    repository,
    signals,
    notifier,
    timers: {
      groupWaitMs: groupWaitS * 1000,
      groupIntervalMs: groupIntervalS * 1000,
      repeatIntervalMs: repeatIntervalS * 1000,
    },
    healthIntervalMs: healthIntervalS * 1000,
    evalIntervalMs: evalIntervalS * 1000,
    log: getLogger('alerting.test'),
  });
  return {
    clock,
    store,
    repository,
    signals,
    notifier,
    evaluator,
    logs,
    tick: (ms = evalIntervalS * 1000) => {
      clock.now += ms;
      return evaluator.evaluate(clock.now);
    },
  };
}
