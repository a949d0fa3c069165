import type { Config } from '@flashcase/config';
import type { AlertRule } from './types';

/** Where rules link by default: one section per alert in the repository's runbook. */
export const RUNBOOK_BASE = 'docs/runbook.md';

/** The runbook link of an alert: `docs/runbook.md#<name in lower case>` (the heading's anchor). */
export function runbookUrl(name: string): string {
  return `${RUNBOOK_BASE}#${name.toLowerCase()}`;
}

const WATCHED = ['gateway', 'ai-proxy'] as const;
const ALL = ['gateway', 'ai-proxy', 'alerting'] as const;

/**
 * The default alerts, with thresholds from the config: the seed's seven (contract section 7),
 * critical HighTokenUsage, HighErrorRate, ServiceDown, HighResponseTime; warning
 * ElevatedTokenUsage, IncreasedErrorRate, HighMemoryUsage; and warning PricingTableDrift (the
 * pricing table more than 5 % off the provider's bill over the last 24 h, with at least 20 billed
 * calls). Eight in all; used when ALERT_RULES_FILE is unset.
 *
 * Resolve thresholds sit below the fire thresholds (tokens 90 %, error rates 3 % / 1 %, p95 4 s,
 * memory 75 %, pricing drift 3 %, ServiceDown on the first successful check).
 */
export function seedRules(config: Pick<Config, 'tokens'>): AlertRule[] {
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
  ];
  return rules;
}
