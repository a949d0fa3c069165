import type { Config } from '@flashcase/config';
import type { AlertRule } from './alert-rule';

/** Where rules link by default: one section per alert in the repository's runbook. */
export const RUNBOOK_BASE = 'docs/runbook.md';

/** The runbook link of an alert: `docs/runbook.md#<name in lower case>` (the heading's anchor). */
export function runbookUrl(name: string): string {
  return `${RUNBOOK_BASE}#${name.toLowerCase()}`;
}

const WATCHED = ['gateway', 'ai-proxy'] as const;
const ALL = ['gateway', 'ai-proxy', 'alerting'] as const;

/** Where a soft-budget alert resolves: 95 % of the soft ratio (0.76 at the default 0.8). */
export function softResolve(softRatio: number): number {
  return Math.round(softRatio * 0.95 * 10_000) / 10_000;
}

/**
 * The default alerts, with thresholds from the config: the seed's seven (contract section 7),
 * critical HighTokenUsage, HighErrorRate, ServiceDown, HighResponseTime; warning
 * ElevatedTokenUsage, IncreasedErrorRate, HighMemoryUsage; warning PricingTableDrift (the
 * pricing table more than 5 % off the provider's bill over the last 24 h, with at least 20 billed
 * calls); and the spend budgets' three: warning UserBudgetNearlySpent (one instance per
 * user at AI_BUDGET_SOFT_RATIO of a daily or monthly budget, all in one group, so one message lists
 * them), warning MonthlyBudgetNearlySpent and critical MonthlyBudgetExhausted (the deployment's
 * AI_BUDGET_USD_PER_MONTH, spent / limit at the soft ratio and at 1; quiet without a limit).
 * Eleven in all; used when ALERT_RULES_FILE is unset.
 *
 * Resolve thresholds sit below the fire thresholds (tokens 90 %, error rates 3 % / 1 %, p95 4 s,
 * memory 75 %, pricing drift 3 %, ServiceDown on the first successful check, budgets 95 % of the
 * soft ratio and 0.95 of the limit; a new day or month brings spend to 0, so it resolves them).
 */
export function seedRules(config: Pick<Config, 'tokens' | 'budgets'>): AlertRule[] {
  const soft = config.budgets.softRatio;
  const critical = config.tokens.alertThreshold;
  const warning = config.tokens.warningThreshold;
  const base = { comparison: '>' as const, windowS: 300, minRequests: 20, services: [] as const, labels: {} };
  const rules: AlertRule[] = [
    {
      ...base,
      name: 'HighTokenUsage',
      severity: 'critical',
      signal: 'ai_tokens_last_hour',
      threshold: critical,
      resolveThreshold: Math.floor(critical * 0.9),
      forS: 60,
      summary: 'AI token usage in the last hour is {{value}}, above the limit of {{threshold}}',
      runbookUrl: runbookUrl('HighTokenUsage'),
    },
    {
      ...base,
      name: 'HighErrorRate',
      severity: 'critical',
      signal: 'gateway_error_rate',
      threshold: 0.05,
      resolveThreshold: 0.03,
      forS: 120,
      summary: '{{value}} of gateway responses were 5xx over the last 5 minutes (limit {{threshold}})',
      runbookUrl: runbookUrl('HighErrorRate'),
    },
    {
      ...base,
      name: 'ServiceDown',
      severity: 'critical',
      signal: 'service_health_failures',
      comparison: '>=',
      threshold: 3,
      resolveThreshold: 0,
      forS: 0,
      services: WATCHED,
      summary: '{{labels.service}} failed {{value}} in a row',
      runbookUrl: runbookUrl('ServiceDown'),
    },
    {
      ...base,
      name: 'HighResponseTime',
      severity: 'critical',
      signal: 'gateway_latency_p95_s',
      threshold: 5,
      resolveThreshold: 4,
      forS: 120,
      summary: 'Gateway p95 latency is {{value}} over the last 5 minutes (limit {{threshold}})',
      runbookUrl: runbookUrl('HighResponseTime'),
    },
    {
      ...base,
      name: 'ElevatedTokenUsage',
      severity: 'warning',
      signal: 'ai_tokens_last_hour',
      threshold: warning,
      resolveThreshold: Math.floor(warning * 0.9),
      forS: 300,
      summary: 'AI token usage in the last hour is {{value}}, above the warning level of {{threshold}}',
      runbookUrl: runbookUrl('ElevatedTokenUsage'),
    },
    {
      ...base,
      name: 'IncreasedErrorRate',
      severity: 'warning',
      signal: 'gateway_error_rate',
      threshold: 0.02,
      resolveThreshold: 0.01,
      forS: 300,
      summary: '{{value}} of gateway responses were 5xx over the last 5 minutes (warning level {{threshold}})',
      runbookUrl: runbookUrl('IncreasedErrorRate'),
    },
    {
      ...base,
      name: 'HighMemoryUsage',
      severity: 'warning',
      signal: 'service_memory_utilization',
      threshold: 0.8,
      resolveThreshold: 0.75,
      forS: 300,
      services: ALL,
      summary: '{{labels.service}} uses {{value}} of its memory limit (warning level {{threshold}})',
      runbookUrl: runbookUrl('HighMemoryUsage'),
    },
    {
      ...base,
      name: 'PricingTableDrift',
      severity: 'warning',
      signal: 'ai_pricing_drift',
      threshold: 0.05,
      resolveThreshold: 0.03,
      forS: 900,
      summary: "The pricing table is {{value}} off the provider's bill over the last 24 h (limit {{threshold}})",
      runbookUrl: runbookUrl('PricingTableDrift'),
    },
    {
      ...base,
      name: 'UserBudgetNearlySpent',
      severity: 'warning',
      signal: 'ai_user_budget_ratio',
      comparison: '>=',
      threshold: soft,
      resolveThreshold: softResolve(soft),
      forS: 0,
      summary: '{{labels.user}} has used {{value}} of their {{labels.budget}} budget (warning level {{threshold}})',
      runbookUrl: runbookUrl('UserBudgetNearlySpent'),
    },
    {
      ...base,
      name: 'MonthlyBudgetNearlySpent',
      severity: 'warning',
      signal: 'ai_monthly_budget_ratio',
      comparison: '>=',
      threshold: soft,
      resolveThreshold: softResolve(soft),
      forS: 0,
      summary: "The deployment has spent {{value}} of this month's AI budget (warning level {{threshold}})",
      runbookUrl: runbookUrl('MonthlyBudgetNearlySpent'),
    },
    {
      ...base,
      name: 'MonthlyBudgetExhausted',
      severity: 'critical',
      signal: 'ai_monthly_budget_ratio',
      comparison: '>=',
      threshold: 1,
      resolveThreshold: 0.95,
      forS: 0,
      summary: "The deployment has spent {{value}} of this month's AI budget: AI calls are refused until it resets",
      runbookUrl: runbookUrl('MonthlyBudgetExhausted'),
    },
  ];
  return rules;
}
