import type { Severity, SignalName } from '../rules/alert-rule';

/** An alert instance's place in the state machine (inactive instances have no record). */
export type AlertState = 'pending' | 'firing' | 'resolved';

/**
 * One alert instance (a rule, plus a `service` label for per-service rules), as stored. Times are
 * ms since the epoch; the API shows them as ISO-8601.
 */
export interface AlertRecord {
  fingerprint: string;
  name: string;
  severity: Severity;
  signal: SignalName;
  labels: Record<string, string>;
  state: AlertState;
  /** The last value read (null while the signal could not be read since the record was made). */
  value: number | null;
  threshold: number;
  resolveThreshold: number;
  /** When the condition started to hold (pending began). */
  startedAtMs: number;
  firedAtMs?: number;
  resolvedAtMs?: number;
  /** When a signal was last read for it. */
  evaluatedAtMs: number;
  summary: string;
  runbookUrl: string;
}

/** One notification group (alert name + severity), Alertmanager style. */
export interface GroupRecord {
  key: string;
  name: string;
  severity: Severity;
  /** When its first firing alert appeared (group wait counts from here). */
  createdAtMs: number;
  /** Set once a notification went out. */
  lastNotifiedAtMs?: number;
  /** The firing alerts (fingerprints) the last notification reported. */
  notifiedFiring: string[];
  /** Notifications sent for this group so far (the notification log id is `<key>:<createdAtMs>:<seq>`). */
  seq: number;
}

/** A silence: alerts whose labels (and `name`, `severity`) equal every matcher send nothing. */
export interface SilenceRecord {
  id: string;
  matchers: Record<string, string>;
  comment: string;
  createdBy: string;
  startsAtMs: number;
  endsAtMs: number;
}

/** The health checks of one watched service, kept so a new leader counts on. */
export interface HealthRecord {
  service: string;
  consecutiveFailures: number;
  checkedAtMs: number;
  /** From the last successful check. */
  memoryUtilization?: number;
  lastError?: string;
}

/** One sent notification (claimed before sending, so two evaluators can never both send it). */
export interface NotificationRecord {
  groupKey: string;
  /** The group's `createdAtMs`: one episode of the group, from first firing to resolved. */
  episode: number;
  seq: number;
  status: 'firing' | 'resolved';
  firing: string[];
  resolved: string[];
  createdAtMs: number;
  /** Channel -> outcome, filled in when the deliveries finished. */
  channels: Record<string, 'sent' | 'failed'>;
}

/**
 * One day's usage digest, claimed before it is sent (keyed by the day it reviews), so across
 * replicas, restarts and failovers it goes out once at most.
 */
export interface DigestRecord {
  /** `yyyy-MM-dd` in BUDGET_TIMEZONE. */
  date: string;
  /** The replica that claimed it. */
  claimedBy: string;
  claimedAtMs: number;
  /** When it became due (the digest hour on the next day); `claimedAtMs` after it = how late. */
  dueAtMs: number;
  /** Channel -> outcome, filled in when the deliveries finished (empty while they run). */
  channels: Record<string, 'sent' | 'failed'>;
}
