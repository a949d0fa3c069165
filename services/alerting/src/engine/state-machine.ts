import { createHash } from 'node:crypto';
import type { AlertRule } from '../rules/alert-rule';
import { renderSummary } from '../rules/format';
import type { AlertRecord } from '../state/records';

/**
 * What one evaluation saw for one alert instance. `undefined` (no observation) means the signal
 * could not be read: the instance is left as it is, neither firing nor resolving.
 */
export interface Observation {
  /** The value shown (null when there is none, e.g. no latency without traffic). */
  value: number | null;
  /** The fire condition holds (above the threshold, with enough traffic). */
  breaching: boolean;
  /** The resolve condition holds (at or below the resolve threshold, or too little traffic). */
  clear: boolean;
}

/** An instance of a rule: the rule's labels plus the instance's (`service`). */
export function instanceLabels(rule: AlertRule, extra: Record<string, string>): Record<string, string> {
  return { ...rule.labels, ...extra };
}

/** Stable id of an alert instance: its name and a digest of its labels. */
export function fingerprint(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((key) => [key, labels[key]]);
  const digest = createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
  return `${name}:${digest}`;
}

/** Turns a rule and a signal value into an observation (threshold, hysteresis, comparison). */
export function observe(rule: AlertRule, value: number | null, enoughTraffic = true): Observation {
  if (value === null || !enoughTraffic) return { value, breaching: false, clear: true };
  const breaching = rule.comparison === '>=' ? value >= rule.threshold : value > rule.threshold;
  return { value, breaching, clear: value <= rule.resolveThreshold };
}

/**
 * One step of an alert instance's state machine: inactive (no record) -> pending (condition holds)
 * -> firing (held for `for`) -> resolved (at or below the resolve threshold) -> inactive (when it
 * ages out, or pending again when the condition returns). A pending alert whose condition stops
 * holding goes back to inactive (`for` means "held continuously"). Between the resolve and the
 * fire threshold nothing changes state (hysteresis).
 *
 * Returns the next record (undefined = inactive) and whether anything but the value changed.
 */
export function step(
  rule: AlertRule,
  labels: Record<string, string>,
  previous: AlertRecord | undefined,
  observation: Observation | undefined,
  nowMs: number,
): { next: AlertRecord | undefined; transition: boolean } {
  if (observation === undefined) return { next: previous, transition: false };
  const summaryOf = (value: number | null) =>
    renderSummary(
      rule.summary,
      { signal: rule.signal, value, threshold: rule.threshold, resolveThreshold: rule.resolveThreshold },
      labels,
    );
  const refreshed = (record: AlertRecord): AlertRecord => ({
    ...record,
    value: observation.value,
    threshold: rule.threshold,
    resolveThreshold: rule.resolveThreshold,
    evaluatedAtMs: nowMs,
    summary: summaryOf(observation.value),
    runbookUrl: rule.runbookUrl,
  });
  const pendingOrFiring = (): AlertRecord => {
    const record: AlertRecord = {
      fingerprint: fingerprint(rule.name, labels),
      name: rule.name,
      severity: rule.severity,
      signal: rule.signal,
      labels,
      state: 'pending',
      value: observation.value,
      threshold: rule.threshold,
      resolveThreshold: rule.resolveThreshold,
      startedAtMs: nowMs,
      evaluatedAtMs: nowMs,
      summary: summaryOf(observation.value),
      runbookUrl: rule.runbookUrl,
    };
    if (rule.forS <= 0) return { ...record, state: 'firing', firedAtMs: nowMs };
    return record;
  };

  if (previous === undefined || previous.state === 'resolved') {
    if (observation.breaching) return { next: pendingOrFiring(), transition: true };
    return { next: previous === undefined ? undefined : refreshed(previous), transition: false };
  }
  if (previous.state === 'pending') {
    if (!observation.breaching) return { next: undefined, transition: true };
    if (nowMs - previous.startedAtMs >= rule.forS * 1000) {
      return { next: { ...refreshed(previous), state: 'firing', firedAtMs: nowMs }, transition: true };
    }
    return { next: refreshed(previous), transition: false };
  }
  // firing
  if (observation.clear && !observation.breaching) {
    return { next: { ...refreshed(previous), state: 'resolved', resolvedAtMs: nowMs }, transition: true };
  }
  return { next: refreshed(previous), transition: false };
}
