import { describe, expect, it } from 'vitest';
import type { GroupTimers } from '../../src/engine/grouping';
import { type EvaluationPlan, type EvaluationState, type InstanceObservation, plan } from '../../src/engine/plan';
import { fingerprint, observe } from '../../src/engine/state-machine';
import type { AlertRule } from '../../src/rules/alert-rule';
import type { AlertRecord, GroupRecord, SilenceRecord } from '../../src/state/records';
import { rule, T0 } from '../helpers/engine';

const SECOND = 1000;
const TIMERS: GroupTimers = { groupWaitMs: 0, groupIntervalMs: 60 * SECOND, repeatIntervalMs: 3600 * SECOND };
const EMPTY: EvaluationState = { alerts: [], groups: [], silences: [] };

/** What the evaluation of `r` saw: `value` (with `labels`), or nothing when the signal was unreadable. */
function seen(
  r: AlertRule,
  value: number | null | undefined,
  labels: Record<string, string> = {},
): InstanceObservation {
  return {
    rule: r,
    labels: { ...r.labels, ...labels },
    observation: value === undefined ? undefined : observe(r, value),
  };
}

/**
 * The state the store holds after the shell carried out `planned` with every claim won: the alert
 * and group changes written, the others kept as they were.
 */
function apply(state: EvaluationState, planned: EvaluationPlan): EvaluationState {
  const alerts = new Map(state.alerts.map((a) => [a.fingerprint, a]));
  for (const change of planned.alertChanges) {
    if (change.kind === 'put') alerts.set(change.alert.fingerprint, change.alert);
    else alerts.delete(change.fingerprint);
  }
  const groups = new Map(state.groups.map((g) => [g.key, g]));
  for (const { change } of planned.groups) {
    if (change?.kind === 'put') groups.set(change.group.key, change.group);
    else if (change?.kind === 'delete') groups.delete(change.key);
  }
  return { alerts: [...alerts.values()], groups: [...groups.values()], silences: state.silences };
}

/** Runs plan at each of `steps` (ms after T0, and what was seen then), carrying the state along. */
function run(
  steps: Array<[atMs: number, observations: InstanceObservation[]]>,
  { state = EMPTY, timers = TIMERS }: { state?: EvaluationState; timers?: GroupTimers } = {},
): { plans: EvaluationPlan[]; state: EvaluationState } {
  const plans: EvaluationPlan[] = [];
  for (const [atMs, observations] of steps) {
    const planned = plan(state, observations, T0 + atMs, timers);
    plans.push(planned);
    state = apply(state, planned);
  }
  return { plans, state };
}

/** `firing:HighTokenUsage:1/0` per notification claimed. */
function claimed(planned: EvaluationPlan): string[] {
  return planned.groups.flatMap(({ claim }) =>
    claim
      ? [
          `${claim.notification.status}:${claim.notification.name}:${claim.notification.firing.length}/${claim.notification.resolved.length}`,
        ]
      : [],
  );
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function silence(matchers: Record<string, string>, startsAtMs: number, endsAtMs: number): SilenceRecord {
  return { id: `s-${startsAtMs}`, matchers, comment: '', createdBy: 'test', startsAtMs, endsAtMs };
}

describe('plan: the state machine of each instance', () => {
  const slow = rule({ forS: 30 });

  it('makes a breaching instance pending, and firing once the condition held for `for`', () => {
    const { plans, state } = run([
      [0, [seen(slow, 150)]],
      [20 * SECOND, [seen(slow, 160)]],
      [30 * SECOND, [seen(slow, 170)]],
    ]);
    expect(plans[0]?.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'inactive', to: 'pending' }]);
    expect(plans[0]?.alertChanges).toMatchObject([{ kind: 'put', alert: { state: 'pending', startedAtMs: T0 } }]);
    expect(plans[0]?.groups).toEqual([]);
    expect(plans[1]?.transitions).toEqual([]);
    expect(plans[1]?.alerts[0]).toMatchObject({ state: 'pending', value: 160 });
    expect(claimed(plans[1] as EvaluationPlan)).toEqual([]);
    expect(plans[2]?.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'pending', to: 'firing' }]);
    expect(state.alerts[0]).toMatchObject({ state: 'firing', firedAtMs: T0 + 30 * SECOND, startedAtMs: T0 });
    expect(claimed(plans[2] as EvaluationPlan)).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('fires at once with `for` 0', () => {
    const { plans } = run([[0, [seen(rule(), 150)]]]);
    expect(plans[0]?.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'inactive', to: 'firing' }]);
    expect(claimed(plans[0] as EvaluationPlan)).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('drops a pending instance whose condition stopped holding before `for`, sending nothing', () => {
    const { plans, state } = run([
      [0, [seen(slow, 150)]],
      [10 * SECOND, [seen(slow, 90)]],
    ]);
    expect(plans[1]?.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'pending', to: 'inactive' }]);
    expect(plans[1]?.alertChanges).toEqual([{ kind: 'delete', fingerprint: fingerprint('HighTokenUsage', {}) }]);
    expect(state.alerts).toEqual([]);
    expect(plans.flatMap(claimed)).toEqual([]);
  });

  it('keeps a firing instance firing between the resolve and the fire threshold (hysteresis)', () => {
    const r = rule();
    const { plans, state } = run([
      [0, [seen(r, 150)]],
      ...[95, 81, 100, 85].map((v, i): [number, InstanceObservation[]] => [(i + 1) * 70 * SECOND, [seen(r, v)]]),
    ]);
    for (const later of plans.slice(1)) expect(later.transitions).toEqual([]);
    expect(state.alerts[0]).toMatchObject({ state: 'firing', value: 85 });
    expect(plans.flatMap(claimed)).toEqual(['firing:HighTokenUsage:1/0']);
  });

  it('resolves at the resolve threshold and claims one resolved notification, ending the group', () => {
    const r = rule();
    const { plans, state } = run([
      [0, [seen(r, 150)]],
      [70 * SECOND, [seen(r, 80)]],
    ]);
    expect(plans[1]?.transitions).toEqual([{ name: 'HighTokenUsage', labels: {}, from: 'firing', to: 'resolved' }]);
    expect(claimed(plans[1] as EvaluationPlan)).toEqual(['resolved:HighTokenUsage:0/1']);
    expect(plans[1]?.groups[0]?.change).toEqual({ kind: 'delete', key: 'HighTokenUsage:critical' });
    expect(state.alerts[0]).toMatchObject({ state: 'resolved', resolvedAtMs: T0 + 70 * SECOND });
    expect(state.groups).toEqual([]);
  });

  it('keeps a resolved instance resolved inside the band, and starts a new episode above the threshold', () => {
    const r = rule();
    const { plans, state } = run([
      [0, [seen(r, 150)]],
      [70 * SECOND, [seen(r, 10)]],
      [140 * SECOND, [seen(r, 95)]],
      [210 * SECOND, [seen(r, 200)]],
    ]);
    expect(plans[2]?.transitions).toEqual([]);
    expect(plans[2]?.alerts[0]?.state).toBe('resolved');
    expect(state.alerts[0]?.state).toBe('firing');
    expect(state.alerts[0]?.resolvedAtMs).toBeUndefined();
    const ids = plans.flatMap((p) => p.groups.flatMap((g) => (g.claim ? [g.claim.notification.id] : [])));
    expect(ids).toEqual([
      `HighTokenUsage:critical:${T0}:1`,
      `HighTokenUsage:critical:${T0}:2`,
      `HighTokenUsage:critical:${T0 + 210 * SECOND}:1`,
    ]);
  });

  it('leaves an instance whose signal could not be read exactly as it is: no transition, no write', () => {
    const r = rule();
    const first = run([[0, [seen(r, 150)]]]);
    const planned = plan(first.state, [seen(r, undefined)], T0 + 700 * SECOND, TIMERS);
    expect(planned.transitions).toEqual([]);
    expect(planned.alertChanges).toEqual([]);
    expect(planned.alerts).toEqual(first.state.alerts);
  });

  it('resolves a firing alert of a rule no longer configured, drops a pending one, keeps a resolved one', () => {
    const a = rule({ name: 'A' });
    const b = rule({ name: 'B', forS: 600 });
    const c = rule({ name: 'C' });
    const before = run([
      [0, [seen(a, 150), seen(b, 150), seen(c, 150)]],
      [70 * SECOND, [seen(a, 150), seen(b, 150), seen(c, 10)]],
    ]).state;
    const planned = plan(before, [], T0 + 140 * SECOND, TIMERS);
    expect(planned.transitions).toEqual([{ name: 'A', labels: {}, from: 'firing', to: 'resolved' }]);
    expect(planned.alertChanges).toEqual([
      {
        kind: 'put',
        alert: expect.objectContaining({ name: 'A', state: 'resolved', resolvedAtMs: T0 + 140 * SECOND }),
      },
      { kind: 'delete', fingerprint: fingerprint('B', {}) },
    ]);
    expect(planned.alerts.map((x) => `${x.name}:${x.state}`).sort()).toEqual(['A:resolved', 'C:resolved']);
  });
});

describe('plan: groups and their notifications', () => {
  const down = rule({
    name: 'ServiceDown',
    signal: 'service_health_failures',
    comparison: '>=',
    threshold: 1,
    resolveThreshold: 0,
    services: ['gateway', 'ai-proxy'],
  });
  const gateway = (v: number) => seen(down, v, { service: 'gateway' });
  const aiProxy = (v: number) => seen(down, v, { service: 'ai-proxy' });

  it('waits group_wait before the first notification, then reports every member firing by then', () => {
    const { plans } = run(
      [
        [0, [gateway(1), aiProxy(0)]],
        [20 * SECOND, [gateway(2), aiProxy(1)]],
        [30 * SECOND, [gateway(3), aiProxy(2)]],
      ],
      { timers: { ...TIMERS, groupWaitMs: 30 * SECOND } },
    );
    expect(plans[0]?.groups).toMatchObject([
      { key: 'ServiceDown:critical', change: { kind: 'put', group: { createdAtMs: T0, seq: 0 } } },
    ]);
    expect(claimed(plans[0] as EvaluationPlan)).toEqual([]);
    expect(claimed(plans[1] as EvaluationPlan)).toEqual([]);
    expect(claimed(plans[2] as EvaluationPlan)).toEqual(['firing:ServiceDown:2/0']);
  });

  it('reports a change at most once per group_interval, and an unchanged group again after repeat_interval', () => {
    const { plans } = run([
      [0, [gateway(1), aiProxy(0)]],
      [30 * SECOND, [gateway(1), aiProxy(1)]],
      [60 * SECOND, [gateway(1), aiProxy(1)]],
      [1800 * SECOND, [gateway(1), aiProxy(1)]],
      [3660 * SECOND, [gateway(1), aiProxy(1)]],
    ]);
    expect(plans.map(claimed)).toEqual([
      ['firing:ServiceDown:1/0'],
      [],
      ['firing:ServiceDown:2/0'],
      [],
      ['firing:ServiceDown:2/0'],
    ]);
    expect(plans[4]?.groups[0]?.claim?.notification.repeat).toBe(true);
    expect(plans[2]?.groups[0]?.claim?.notification.repeat).toBe(false);
  });

  it('reports a member that resolved while others fire, then a resolved notification when all cleared', () => {
    const { plans, state } = run([
      [0, [gateway(1), aiProxy(1)]],
      [60 * SECOND, [gateway(0), aiProxy(1)]],
      [120 * SECOND, [gateway(0), aiProxy(0)]],
    ]);
    expect(plans.flatMap(claimed)).toEqual([
      'firing:ServiceDown:2/0',
      'firing:ServiceDown:1/1',
      'resolved:ServiceDown:0/1',
    ]);
    expect(state.groups).toEqual([]);
  });

  it('sends nothing for a group whose alerts resolved before group_wait ended, and forgets it', () => {
    const r = rule();
    const { plans, state } = run(
      [
        [0, [seen(r, 150)]],
        [30 * SECOND, [seen(r, 10)]],
      ],
      { timers: { ...TIMERS, groupWaitMs: 60 * SECOND } },
    );
    expect(plans.flatMap(claimed)).toEqual([]);
    expect(plans[1]?.groups).toEqual([
      { key: 'HighTokenUsage:critical', change: { kind: 'delete', key: 'HighTokenUsage:critical' } },
    ]);
    expect(state.groups).toEqual([]);
  });

  it('groups by name and severity, in key order: two rules are two groups', () => {
    const high = rule();
    const elevated = rule({ name: 'ElevatedTokenUsage', severity: 'warning', threshold: 50, resolveThreshold: 40 });
    const { plans } = run([[0, [seen(high, 150), seen(elevated, 150)]]]);
    expect(plans[0]?.groups.map((g) => g.key)).toEqual(['ElevatedTokenUsage:warning', 'HighTokenUsage:critical']);
    expect(claimed(plans[0] as EvaluationPlan)).toEqual(['firing:ElevatedTokenUsage:1/0', 'firing:HighTokenUsage:1/0']);
  });

  it('numbers notifications per episode and claims each with its record in the notification log', () => {
    const { plans } = run([
      [0, [gateway(1), aiProxy(0)]],
      [60 * SECOND, [gateway(1), aiProxy(1)]],
    ]);
    const second = plans[1]?.groups[0]?.claim;
    expect(second?.record).toEqual({
      groupKey: 'ServiceDown:critical',
      episode: T0,
      seq: 2,
      status: 'firing',
      firing: [
        fingerprint('ServiceDown', { service: 'ai-proxy' }),
        fingerprint('ServiceDown', { service: 'gateway' }),
      ].sort(),
      resolved: [],
      createdAtMs: T0 + 60 * SECOND,
      channels: {},
    });
    expect(second?.notification).toMatchObject({
      id: `ServiceDown:critical:${T0}:2`,
      name: 'ServiceDown',
      severity: 'critical',
      signal: 'service_health_failures',
      createdAt: new Date(T0 + 60 * SECOND).toISOString(),
    });
    expect(plans[1]?.groups[0]?.change).toMatchObject({
      kind: 'put',
      group: { seq: 2, lastNotifiedAtMs: T0 + 60 * SECOND },
    });
  });

  it('writes nothing for a group whose record is unchanged, whatever the order of its keys', () => {
    const r = rule();
    const first = run([[0, [seen(r, 150)]]]).state;
    // The same group as stored by a writer that orders its keys differently.
    const stored = first.groups[0] as GroupRecord;
    const reordered = Object.fromEntries(Object.entries(stored).reverse()) as unknown as GroupRecord;
    const planned = plan({ ...first, groups: [reordered] }, [seen(r, 150)], T0 + 30 * SECOND, TIMERS);
    expect(planned.groups).toEqual([]);
  });
});

describe('plan: silences', () => {
  const r = rule();

  it('sends nothing for a silenced firing alert, and notifies once the silence ended', () => {
    const state: EvaluationState = { ...EMPTY, silences: [silence({ name: 'HighTokenUsage' }, T0, T0 + 60 * SECOND)] };
    const { plans } = run(
      [
        [0, [seen(r, 150)]],
        [30 * SECOND, [seen(r, 150)]],
        [60 * SECOND, [seen(r, 150)]],
      ],
      { state },
    );
    expect(plans[0]?.alerts[0]?.state).toBe('firing');
    expect(plans.map(claimed)).toEqual([[], [], ['firing:HighTokenUsage:1/0']]);
  });

  it('matches every matcher of a silence, name and severity included', () => {
    const down = rule({
      name: 'ServiceDown',
      signal: 'service_health_failures',
      comparison: '>=',
      threshold: 1,
      resolveThreshold: 0,
      services: ['gateway', 'ai-proxy'],
    });
    const silences = [
      silence({ name: 'ServiceDown', service: 'gateway' }, T0, T0 + 600 * SECOND),
      silence({ name: 'ServiceDown', severity: 'warning' }, T0 - 1, T0 + 600 * SECOND),
    ];
    const planned = plan(
      { ...EMPTY, silences },
      [seen(down, 1, { service: 'gateway' }), seen(down, 1, { service: 'ai-proxy' })],
      T0,
      TIMERS,
    );
    expect(planned.groups[0]?.claim?.notification.firing.map((a) => a.labels.service)).toEqual(['ai-proxy']);
  });

  it('sends no resolved notification for an alert silenced after it was reported', () => {
    const timers = { ...TIMERS, groupIntervalMs: 10 * SECOND };
    const reported = run([[0, [seen(r, 150)]]], { timers }).state;
    const silenced = { ...reported, silences: [silence({ name: 'HighTokenUsage' }, T0, T0 + 3600 * SECOND)] };
    const { plans, state } = run(
      [
        [20 * SECOND, [seen(r, 150)]],
        [40 * SECOND, [seen(r, 10)]],
        [60 * SECOND, [seen(r, 10)]],
      ],
      { state: silenced, timers },
    );
    // Silenced while still firing, the group ended quietly: its resolution has nobody to tell.
    expect(plans[0]?.groups).toEqual([
      { key: 'HighTokenUsage:critical', change: { kind: 'delete', key: 'HighTokenUsage:critical' } },
    ]);
    expect(plans.flatMap(claimed)).toEqual([]);
    expect(state.alerts[0]?.state).toBe('resolved');
  });
});

describe('plan is a function of its inputs', () => {
  it('changes none of its inputs and gives the same plan for the same inputs', () => {
    const r = rule();
    const before = run([[0, [seen(r, 150)]]]).state;
    const state = deepFreeze(structuredClone(before));
    const observations = deepFreeze([seen(r, 10)]);
    const once = plan(state, observations, T0 + 70 * SECOND, TIMERS);
    const again = plan(state, observations, T0 + 70 * SECOND, TIMERS);
    expect(again).toEqual(once);
    expect(state).toEqual(before);
  });

  it('takes its time from `nowMs` alone', () => {
    const r = rule();
    const at = (nowMs: number) => plan(EMPTY, [seen(r, 150)], nowMs, TIMERS);
    expect(at(T0).alerts[0]).toMatchObject({ startedAtMs: T0, firedAtMs: T0, evaluatedAtMs: T0 });
    expect(at(T0 + 5).groups[0]?.claim?.notification.createdAt).toBe(new Date(T0 + 5).toISOString());
  });
});

describe('alert records', () => {
  it('are rewritten only when their value changed, whatever the order of their keys', () => {
    const r = rule();
    const first = run([[0, [seen(r, 150)]]]).state;
    const stored = first.alerts[0] as AlertRecord;
    // The same record as stored by a writer that orders its keys differently, seen again at the
    // same instant with the same value (a second evaluator racing the first): nothing to write.
    const reordered = Object.fromEntries(Object.entries(stored).reverse()) as unknown as AlertRecord;
    expect(plan({ ...first, alerts: [reordered] }, [seen(r, 150)], T0, TIMERS).alertChanges).toEqual([]);
    expect(plan({ ...first, alerts: [reordered] }, [seen(r, 151)], T0, TIMERS).alertChanges).toMatchObject([
      { kind: 'put', alert: { value: 151 } },
    ]);
  });
});
