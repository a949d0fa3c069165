import type { UsageFields, UsageTarget } from '@flashcase/store';

/** The counters of the store's hash fields, by their letter. */
const COUNTER_NAMES: Record<string, string> = {
  p: 'prompt_tokens',
  c: 'completion_tokens',
  rt: 'reasoning_tokens',
  cp: 'cached_prompt_tokens',
  r: 'requests',
  e: 'errors',
  ct: 'cost_usd_ticks',
  bn: 'billed_calls',
  bb: 'billed_usd_ticks',
  bp: 'priced_usd_ticks',
};

/** One counter that differs between the trail and the store. */
export interface Difference {
  /** `total`, `user <id>`, `model <name>`, `operation <name>` or `pricing_check`. */
  scope: string;
  counter: string;
  trail: number;
  store: number;
  /** What the calls of the period's last seconds add to it: a difference within it is in flight. */
  inFlight: boolean;
}

/** The stored counters compared (the usage API has no per-user hashes). */
export interface StoredView {
  totals: UsageFields;
  users?: ReadonlyMap<string, UsageFields> | undefined;
  /** The fields this view has (default all): the usage API has no error counts, for one. */
  has?: (field: string) => boolean;
  /** Cost differences up to this many ticks are none (the usage API answers USD as a float). */
  costToleranceTicks?: number;
}

/** `field` of a usage hash as a scope and counter: `model:grok:p` is (`model grok`, `prompt_tokens`). */
function describe(base: string, field: string): { scope: string; counter: string } {
  const first = field.indexOf(':');
  if (first < 0) {
    const counter = COUNTER_NAMES[field] ?? field;
    return { scope: field.startsWith('b') && base === 'total' ? 'pricing_check' : base, counter };
  }
  const last = field.lastIndexOf(':');
  const kind = field.slice(0, first) === 'op' ? 'operation' : field.slice(0, first);
  const letter = field.slice(last + 1);
  const name = `${kind} ${field.slice(first + 1, last)}`;
  return { scope: base === 'total' ? name : `${base} ${name}`, counter: COUNTER_NAMES[letter] ?? letter };
}

function compareHash(
  base: string,
  full: UsageFields,
  settled: UsageFields,
  store: UsageFields,
  out: Difference[],
  view: StoredView,
): void {
  const fields = new Set([...full.keys(), ...store.keys()]);
  for (const field of fields) {
    if (view.has && !view.has(field)) continue;
    const trail = full.get(field) ?? 0;
    const stored = store.get(field) ?? 0;
    if (trail === stored) continue;
    if (view.costToleranceTicks && field.endsWith('ct') && Math.abs(trail - stored) <= view.costToleranceTicks)
      continue;
    const tail = Math.abs(trail - (settled.get(field) ?? 0));
    const { scope, counter } = describe(base, field);
    out.push({ scope, counter, trail, store: stored, inFlight: Math.abs(trail - stored) <= tail });
  }
}

/**
 * Every counter where the store differs from the trail: the totals, their per-model and
 * per-operation breakdowns and pricing check, then each user's counters and breakdowns. A difference is
 * `inFlight` when it is no larger than what the calls of the period's last seconds (`full` minus
 * `settled`) add to that counter: their records and counters may still be on the way. Sorted by
 * scope, then counter.
 */
export function compareUsage(full: UsageTarget, settled: UsageTarget, store: StoredView): Difference[] {
  const out: Difference[] = [];
  compareHash('total', full.totals, settled.totals, store.totals, out, store);
  if (store.users) {
    const ids = new Set([...full.users.keys(), ...store.users.keys()]);
    for (const id of ids) {
      compareHash(
        `user ${id}`,
        full.users.get(id) ?? new Map(),
        settled.users.get(id) ?? new Map(),
        store.users.get(id) ?? new Map(),
        out,
        store,
      );
    }
  }
  const rank = (scope: string) =>
    scope === 'total'
      ? 0
      : scope === 'pricing_check'
        ? 1
        : scope.startsWith('model ')
          ? 2
          : scope.startsWith('operation ')
            ? 3
            : 4;
  return out.sort(
    (a, b) => rank(a.scope) - rank(b.scope) || a.scope.localeCompare(b.scope) || a.counter.localeCompare(b.counter),
  );
}
