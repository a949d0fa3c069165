import {
  assertHold,
  type BudgetOverride,
  type BudgetUsage,
  overrideField,
  type SpendDecision,
  type SpendHold,
  type SpendStore,
} from './types';

interface Budget {
  spent: number;
  held: number;
  expiresAtMs: number;
}

/** The spend budgets in memory (one process: the embedded store, or a replica while Redis is away). */
export class EmbeddedSpendStore implements SpendStore {
  private readonly budgets = new Map<string, Budget>();
  private readonly holds = new Map<string, { ticks: number; keys: string[]; lapsesAtMs: number }>();
  private readonly overrides = new Map<string, number>();
  private readonly near = new Map<string, { expiresAtMs: number; ratios: Map<string, number> }>();
  private readonly refused = new Map<string, Record<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  private budget(key: string, now: number): Budget | undefined {
    const budget = this.budgets.get(key);
    if (budget && budget.expiresAtMs <= now) {
      this.budgets.delete(key);
      return undefined;
    }
    return budget;
  }

  private sweep(now: number): void {
    for (const [id, hold] of this.holds) {
      if (hold.lapsesAtMs > now) continue;
      for (const key of hold.keys) {
        const budget = this.budget(key, now);
        if (budget) {
          budget.held -= hold.ticks;
          budget.spent += hold.ticks;
        }
      }
      this.holds.delete(id);
    }
  }

  async hold(hold: SpendHold): Promise<SpendDecision> {
    assertHold(hold);
    const now = this.now();
    this.sweep(now);
    const states = hold.budgets.map((b) => {
      const own = b.override && this.overrides.get(overrideField(b.override.userId, b.override.period));
      const budget = this.budget(b.key, now);
      return { limitTicks: own ?? b.limitTicks, usedTicks: budget ? budget.spent + budget.held : 0 };
    });
    const refused = states.findIndex((s) => s.limitTicks > 0 && s.usedTicks + hold.ticks > s.limitTicks);
    if (refused >= 0) return { allowed: false, refused, budgets: states };
    for (const b of hold.budgets) {
      const budget = this.budget(b.key, now) ?? { spent: 0, held: 0, expiresAtMs: b.expiresAtMs };
      budget.held += hold.ticks;
      budget.expiresAtMs = b.expiresAtMs;
      this.budgets.set(b.key, budget);
    }
    this.holds.set(hold.id, { ticks: hold.ticks, keys: hold.budgets.map((b) => b.key), lapsesAtMs: now + hold.holdMs });
    return { allowed: true, budgets: states };
  }

  async settle(hold: SpendHold, realTicks: number): Promise<BudgetUsage[]> {
    const now = this.now();
    const live = this.holds.delete(hold.id);
    return hold.budgets.map((b) => {
      const budget = this.budget(b.key, now);
      if (!budget) return { spentTicks: 0, heldTicks: 0 };
      if (live) budget.held -= hold.ticks;
      budget.spent += live ? realTicks : realTicks - hold.ticks;
      return { spentTicks: budget.spent, heldTicks: budget.held };
    });
  }

  async markNear(list: string, userId: string, ratio: number, expiresAtMs: number): Promise<void> {
    let users = this.near.get(list);
    if (!users || users.expiresAtMs <= this.now()) {
      users = { expiresAtMs, ratios: new Map() };
      this.near.set(list, users);
    }
    users.ratios.set(userId, Math.max(ratio, users.ratios.get(userId) ?? 0));
    users.expiresAtMs = expiresAtMs;
  }

  async clearNear(list: string, userId: string): Promise<void> {
    this.near.get(list)?.ratios.delete(userId);
  }

  async nearUsers(list: string, minRatio: number, limit: number): Promise<Array<{ userId: string; ratio: number }>> {
    const users = this.near.get(list);
    if (!users || users.expiresAtMs <= this.now()) return [];
    return [...users.ratios]
      .filter(([, ratio]) => ratio >= minRatio)
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([userId, ratio]) => ({ userId, ratio }));
  }

  async countRefusal(day: string, budget: string): Promise<void> {
    const tally = this.refused.get(day) ?? {};
    tally[budget] = (tally[budget] ?? 0) + 1;
    this.refused.set(day, tally);
    // a day's tally is kept 40 days: here, the 40 most recent days
    for (const old of [...this.refused.keys()].slice(0, Math.max(0, this.refused.size - 40))) this.refused.delete(old);
  }

  async refusals(day: string): Promise<Record<string, number>> {
    return { ...(this.refused.get(day) ?? {}) };
  }

  async usage(keys: readonly string[]): Promise<BudgetUsage[]> {
    const now = this.now();
    return keys.map((key) => {
      const budget = this.budget(key, now);
      return { spentTicks: budget?.spent ?? 0, heldTicks: budget?.held ?? 0 };
    });
  }

  async override(userId: string): Promise<BudgetOverride> {
    const daily = this.overrides.get(overrideField(userId, 'daily'));
    const monthly = this.overrides.get(overrideField(userId, 'monthly'));
    return {
      ...(daily !== undefined ? { dailyTicks: daily } : {}),
      ...(monthly !== undefined ? { monthlyTicks: monthly } : {}),
    };
  }

  async overridesOf(userIds: readonly string[]): Promise<BudgetOverride[]> {
    return Promise.all(userIds.map((id) => this.override(id)));
  }

  async setOverride(userId: string, override: BudgetOverride): Promise<void> {
    for (const [period, ticks] of [
      ['daily', override.dailyTicks],
      ['monthly', override.monthlyTicks],
    ] as const) {
      const field = overrideField(userId, period);
      if (ticks === undefined) this.overrides.delete(field);
      else this.overrides.set(field, ticks);
    }
  }

  async hasOverrides(): Promise<boolean> {
    return this.overrides.size > 0;
  }
}
