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

  async settle(hold: SpendHold, realTicks: number): Promise<void> {
    const now = this.now();
    const live = this.holds.delete(hold.id);
    for (const b of hold.budgets) {
      const budget = this.budget(b.key, now);
      if (!budget) continue;
      if (live) budget.held -= hold.ticks;
      budget.spent += live ? realTicks : realTicks - hold.ticks;
    }
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
