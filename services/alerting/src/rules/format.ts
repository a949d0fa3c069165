import type { SignalName } from './alert-rule';

/** A signal value as a person reads it: `12,345 tokens`, `7.5 %`, `5.2 s`, `3 failed checks`. */
export function formatValue(signal: SignalName, value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  switch (signal) {
    case 'ai_tokens_last_hour':
      return `${Math.round(value).toLocaleString('en-US')} tokens`;
    case 'ai_pricing_drift':
    case 'ai_user_budget_ratio':
    case 'ai_monthly_budget_ratio':
    case 'gateway_error_rate':
    case 'service_memory_utilization':
      return `${(value * 100).toFixed(value * 100 < 10 ? 2 : 1)} %`;
    case 'gateway_latency_p95_s':
      return `${value.toFixed(2)} s`;
    case 'service_health_failures':
      return `${value} failed check${value === 1 ? '' : 's'}`;
  }
}

/** Fills `{{value}}`, `{{threshold}}`, `{{resolve_threshold}}` and `{{labels.x}}` (unknown names stay empty). */
export function renderSummary(
  template: string,
  values: { signal: SignalName; value: number | null; threshold: number; resolveThreshold: number },
  labels: Readonly<Record<string, string>>,
): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_match, key: string) => {
    if (key === 'value') return formatValue(values.signal, values.value);
    if (key === 'threshold') return formatValue(values.signal, values.threshold);
    if (key === 'resolve_threshold') return formatValue(values.signal, values.resolveThreshold);
    if (key.startsWith('labels.')) return labels[key.slice('labels.'.length)] ?? '';
    return labels[key] ?? '';
  });
}
