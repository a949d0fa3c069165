import type { AlertRecord, SilenceRecord } from '../state/records';

/** The labels a silence matches against: the alert's labels, plus `name`, `alertname` and `severity`. */
export function matchableLabels(alert: Pick<AlertRecord, 'name' | 'severity' | 'labels'>): Record<string, string> {
  return { ...alert.labels, name: alert.name, alertname: alert.name, severity: alert.severity };
}

/** Whether a silence is in force at `nowMs` (started, not yet ended). */
export function isActive(silence: SilenceRecord, nowMs: number): boolean {
  return silence.startsAtMs <= nowMs && nowMs < silence.endsAtMs;
}

/** Whether an active silence matches every one of its matchers (label equality). */
export function isSilenced(
  alert: Pick<AlertRecord, 'name' | 'severity' | 'labels'>,
  silences: readonly SilenceRecord[],
  nowMs: number,
): boolean {
  const labels = matchableLabels(alert);
  return silences.some(
    (silence) =>
      isActive(silence, nowMs) &&
      Object.keys(silence.matchers).length > 0 &&
      Object.entries(silence.matchers).every(([name, value]) => labels[name] === value),
  );
}
