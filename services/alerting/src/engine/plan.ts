import type { Notification } from '../notify/notification';
import type { AlertRule } from '../rules/alert-rule';
import { sameDocument } from '../state/equality';
import type { AlertRecord, GroupRecord, NotificationRecord, SilenceRecord } from '../state/records';
import { alertView } from '../state/views';
import { type GroupTimers, groupKey, planGroup } from './grouping';
import { isSilenced } from './silences';
import { fingerprint, type Observation, step } from './state-machine';

/** The shared state an evaluation starts from, as read from the store. */
export interface EvaluationState {
  alerts: readonly AlertRecord[];
  groups: readonly GroupRecord[];
  silences: readonly SilenceRecord[];
}

/** One alert instance of a rule and what this evaluation saw of it (undefined: its signal was unreadable). */
export interface InstanceObservation {
  rule: AlertRule;
  labels: Record<string, string>;
  observation: Observation | undefined;
}

/** An alert instance that changed state (`inactive` = it has no record). */
export interface Transition {
  name: string;
  labels: Record<string, string>;
  from: string;
  to: string;
}

/** A write to an alert's record. */
export type AlertChange = { kind: 'put'; alert: AlertRecord } | { kind: 'delete'; fingerprint: string };

/** A write to a group's record. */
export type GroupChange = { kind: 'put'; group: GroupRecord } | { kind: 'delete'; key: string };

/** A notification to claim in the notification log, and to send only if the claim succeeds. */
export interface NotificationClaim {
  record: NotificationRecord;
  notification: Notification;
}

/**
 * What one group does in this evaluation. Without `claim`, `change` is written as it is. With
 * `claim`, the notification is claimed first and `change` is written only if the claim succeeded:
 * an evaluator that lost the claim leaves the group to the one that won it.
 */
export interface GroupStep {
  key: string;
  change: GroupChange | undefined;
  claim?: NotificationClaim;
}

/** Everything an evaluation decides, for the I/O shell to carry out. */
export interface EvaluationPlan {
  /** State changes, in the order they happened: the instances first, then alerts of removed rules. */
  transitions: Transition[];
  /** Every alert instance after this evaluation (inactive ones have none). */
  alerts: AlertRecord[];
  /** The alert records to write (only those whose value changed). */
  alertChanges: AlertChange[];
  /** Per group, in key order: only groups with something to write or to send. */
  groups: GroupStep[];
}

/**
 * Decides one evaluation, with no I/O, clock or randomness: steps each observed instance's state
 * machine (pending, `for`, firing, hysteresis, resolved, see {@link step}), resolves firing alerts
 * of rules no longer configured and drops their pending ones, then plans each group (group wait,
 * group interval, repeat interval, silences, see {@link planGroup}).
 *
 * A record is written only when its value changed (compared by value, not by key order), so an
 * evaluation that changes nothing writes nothing.
 */
export function plan(
  state: EvaluationState,
  observations: readonly InstanceObservation[],
  nowMs: number,
  timers: GroupTimers,
): EvaluationPlan {
  const transitions: Transition[] = [];
  const alertChanges: AlertChange[] = [];
  const byFingerprint = new Map(state.alerts.map((a) => [a.fingerprint, a]));
  const current = new Map<string, AlertRecord>();
  const expected = new Set<string>();
  for (const { rule, labels, observation } of observations) {
    const fp = fingerprint(rule.name, labels);
    expected.add(fp);
    const previous = byFingerprint.get(fp);
    const { next, transition } = step(rule, labels, previous, observation, nowMs);
    if (transition) {
      transitions.push({ name: rule.name, labels, from: previous?.state ?? 'inactive', to: next?.state ?? 'inactive' });
    }
    if (next) current.set(fp, next);
    if (next === undefined && previous !== undefined) alertChanges.push({ kind: 'delete', fingerprint: fp });
    else if (next !== undefined && !sameDocument(next, previous)) alertChanges.push({ kind: 'put', alert: next });
  }
  // Alerts of rules (or services) no longer configured: a firing one resolves, a pending one goes.
  for (const alert of state.alerts) {
    if (expected.has(alert.fingerprint)) continue;
    if (alert.state === 'resolved') current.set(alert.fingerprint, alert);
    else if (alert.state === 'pending') alertChanges.push({ kind: 'delete', fingerprint: alert.fingerprint });
    else {
      const resolved: AlertRecord = { ...alert, state: 'resolved', resolvedAtMs: nowMs, evaluatedAtMs: nowMs };
      current.set(alert.fingerprint, resolved);
      alertChanges.push({ kind: 'put', alert: resolved });
      transitions.push({ name: alert.name, labels: alert.labels, from: 'firing', to: 'resolved' });
    }
  }
  const alerts = [...current.values()];
  return { transitions, alerts, alertChanges, groups: planGroups(alerts, state, nowMs, timers) };
}

/** Each group's step, in key order: its record's change and the notification it is due to send. */
function planGroups(
  alerts: readonly AlertRecord[],
  state: EvaluationState,
  nowMs: number,
  timers: GroupTimers,
): GroupStep[] {
  const members = new Map<string, AlertRecord[]>();
  for (const alert of alerts) {
    const key = groupKey(alert);
    members.set(key, [...(members.get(key) ?? []), alert]);
  }
  const existing = new Map(state.groups.map((g) => [g.key, g]));
  const keys = new Set([...members.keys(), ...existing.keys()]);
  const silenced = (alert: AlertRecord) => isSilenced(alert, state.silences, nowMs);
  const steps: GroupStep[] = [];

  for (const key of [...keys].sort()) {
    const group = existing.get(key);
    const list = members.get(key) ?? [];
    const first = list[0];
    const identity = group ?? (first ? { key, name: first.name, severity: first.severity } : undefined);
    if (!identity) continue;
    const planned = planGroup(group, list, silenced, nowMs, timers, {
      key,
      name: identity.name,
      severity: identity.severity,
    });
    if (!planned.notification) {
      const change = quietChange(key, group, planned.group);
      if (change) steps.push({ key, change });
      continue;
    }
    const seq = (group?.seq ?? 0) + 1;
    // A group's episode is named by its creation time, so a new episode never reuses an old id.
    const episode = planned.group?.createdAtMs ?? group?.createdAtMs ?? nowMs;
    const { status, firing, resolved, repeat } = planned.notification;
    const record: NotificationRecord = {
      groupKey: key,
      episode,
      seq,
      status,
      firing: firing.map((a) => a.fingerprint),
      resolved: resolved.map((a) => a.fingerprint),
      createdAtMs: nowMs,
      channels: {},
    };
    const notification: Notification = {
      id: `${key}:${episode}:${seq}`,
      groupKey: key,
      name: identity.name,
      severity: identity.severity,
      status,
      repeat,
      firing: firing.map((a) => alertView(a)),
      resolved: resolved.map((a) => alertView(a)),
      signal: (firing[0] ?? resolved[0] ?? first)?.signal ?? 'ai_tokens_last_hour',
      createdAt: new Date(nowMs).toISOString(),
    };
    // After a successful claim the group is always written: its sequence number moved on.
    const written: GroupChange =
      planned.group === undefined ? { kind: 'delete', key } : { kind: 'put', group: planned.group };
    steps.push({ key, change: written, claim: { record, notification } });
  }
  return steps;
}

/** A group's write when it sends nothing: none when its record's value did not change. */
function quietChange(
  key: string,
  before: GroupRecord | undefined,
  after: GroupRecord | undefined,
): GroupChange | undefined {
  if (after === undefined) return before === undefined ? undefined : { kind: 'delete', key };
  return sameDocument(after, before) ? undefined : { kind: 'put', group: after };
}
