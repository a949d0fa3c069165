import type { AlertRecord, SilenceRecord } from './records';

/** An alert as the API and the notifications show it (contract section 6). */
export interface AlertView {
  name: string;
  severity: string;
  state: AlertRecord['state'];
  value: number | null;
  threshold: number;
  resolve_threshold: number;
  labels: Record<string, string>;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  summary: string;
  runbook_url: string;
  fingerprint: string;
  silenced: boolean;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The API's view of an alert (times as ISO-8601, null when unset). */
export function alertView(alert: AlertRecord, silenced = false): AlertView {
  return {
    name: alert.name,
    severity: alert.severity,
    state: alert.state,
    value: alert.value,
    threshold: alert.threshold,
    resolve_threshold: alert.resolveThreshold,
    labels: alert.labels,
    started_at: new Date(alert.startedAtMs).toISOString(),
    fired_at: iso(alert.firedAtMs),
    resolved_at: iso(alert.resolvedAtMs),
    summary: alert.summary,
    runbook_url: alert.runbookUrl,
    fingerprint: alert.fingerprint,
    silenced,
  };
}

/** The API's view of a silence: `active` until it ends, `expired` after. */
export function silenceView(silence: SilenceRecord, nowMs: number) {
  return {
    id: silence.id,
    matchers: silence.matchers,
    comment: silence.comment,
    created_by: silence.createdBy,
    starts_at: new Date(silence.startsAtMs).toISOString(),
    ends_at: new Date(silence.endsAtMs).toISOString(),
    status: nowMs < silence.endsAtMs ? 'active' : 'expired',
  };
}
