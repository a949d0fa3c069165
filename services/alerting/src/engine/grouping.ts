import type { AlertRecord, GroupRecord } from '../state/records';

/** Alertmanager's three timers, in ms. */
export interface GroupTimers {
  /** Before a new group's first notification (`ALERT_GROUP_WAIT_S`). */
  groupWaitMs: number;
  /** Between notifications of a group that changed (`ALERT_GROUP_INTERVAL_S`). */
  groupIntervalMs: number;
  /** Before an unchanged firing group is sent again (`ALERT_REPEAT_INTERVAL_S`). */
  repeatIntervalMs: number;
}

/** A notification a group is due to send. */
export interface PlannedNotification {
  status: 'firing' | 'resolved';
  /** Firing, not silenced. */
  firing: AlertRecord[];
  /** Reported firing earlier and resolved since. */
  resolved: AlertRecord[];
  /** A re-send of an unchanged group. */
  repeat: boolean;
}

/** The group an alert belongs to: its name and severity. */
export function groupKey(alert: Pick<AlertRecord, 'name' | 'severity'>): string {
  return `${alert.name}:${alert.severity}`;
}

/**
 * Decides, for one group at `nowMs`, whether a notification is due and what the group becomes
 * (`group: undefined` = the group is over and is forgotten).
 *
 * - A new group (its first firing alert) waits `groupWait`, then reports every firing alert.
 * - Then, at most every `groupInterval`, a change is reported: a newly firing alert, or one that
 *   was reported firing and has resolved. A firing alert leaving because a silence now covers it
 *   is not a change (silenced alerts send nothing).
 * - An unchanged firing group is reported again after `repeatInterval`.
 * - When nothing is firing any more, a resolved notification lists what was reported and has
 *   resolved, and the group ends; if nothing reported has resolved (all silenced), it ends quietly.
 * - A group whose alerts all went away before its first notification ends without one.
 */
export function planGroup(
  existing: GroupRecord | undefined,
  members: readonly AlertRecord[],
  silenced: (alert: AlertRecord) => boolean,
  nowMs: number,
  timers: GroupTimers,
  identity: Pick<GroupRecord, 'key' | 'name' | 'severity'>,
): { group: GroupRecord | undefined; notification?: PlannedNotification } {
  const firing = members.filter((a) => a.state === 'firing' && !silenced(a)).sort(byFingerprint);
  if (!existing) {
    if (firing.length === 0) return { group: undefined };
    existing = { ...identity, createdAtMs: nowMs, notifiedFiring: [], seq: 0 };
  }
  const group: GroupRecord = { ...existing, notifiedFiring: [...existing.notifiedFiring] };
  const notified = (next: PlannedNotification) => {
    group.lastNotifiedAtMs = nowMs;
    group.notifiedFiring = firing.map((a) => a.fingerprint);
    group.seq += 1;
    return { group: next.status === 'resolved' ? undefined : group, notification: next };
  };

  if (group.lastNotifiedAtMs === undefined) {
    if (firing.length === 0) return { group: undefined };
    if (nowMs - group.createdAtMs < timers.groupWaitMs) return { group };
    return notified({ status: 'firing', firing, resolved: [], repeat: false });
  }

  if (nowMs - group.lastNotifiedAtMs < timers.groupIntervalMs) return { group };
  const byId = new Map(members.map((a) => [a.fingerprint, a]));
  const wasReported = new Set(group.notifiedFiring);
  const resolved = group.notifiedFiring
    .map((fp) => byId.get(fp))
    .filter((a): a is AlertRecord => a?.state === 'resolved')
    .sort(byFingerprint);
  const newlyFiring = firing.filter((a) => !wasReported.has(a.fingerprint));

  if (firing.length === 0) {
    if (resolved.length === 0) return { group: undefined };
    return notified({ status: 'resolved', firing: [], resolved, repeat: false });
  }
  if (newlyFiring.length > 0 || resolved.length > 0) {
    return notified({ status: 'firing', firing, resolved, repeat: false });
  }
  if (nowMs - group.lastNotifiedAtMs >= timers.repeatIntervalMs) {
    return notified({ status: 'firing', firing, resolved: [], repeat: true });
  }
  // Keep the reported set in step with silences, so a silence ending later counts as new.
  group.notifiedFiring = group.notifiedFiring.filter((fp) => firing.some((a) => a.fingerprint === fp));
  return { group };
}

function byFingerprint(a: AlertRecord, b: AlertRecord): number {
  return a.fingerprint.localeCompare(b.fingerprint);
}
