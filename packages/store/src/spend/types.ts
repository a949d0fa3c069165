/**
 * Spend budgets: money (ticks, 1e-10 USD) held before a call at its worst case, settled to its
 * real cost after, per budget and calendar period. The caller names each budget by a key that
 * holds its period (`u:alice:d:2026-12-01`), so a new period is a new key and nothing is reset.
 */

/** One budget a call is held against. */
export interface SpendBudget {
  /** The budget and its period, e.g. `u:alice:d:2026-12-01` or `all:m:2026-12`. */
  key: string;
  /** The default limit in ticks; 0 = none (the spend is still tracked). */
  limitTicks: number;
  /** The per-user override that replaces `limitTicks` when one is set (see `setOverride`). */
  override?: { userId: string; period: OverridePeriod } | undefined;
  /** When the key may be forgotten (ms): after its period, with room for reports. */
  expiresAtMs: number;
}

export type OverridePeriod = 'daily' | 'monthly';

export interface SpendHold {
  /** Unique per call. */
  id: string;
  /** The call's worst-case cost. */
  ticks: number;
  /** After this long (ms) an unsettled hold counts as spent at `ticks` (its replica died). */
  holdMs: number;
  budgets: SpendBudget[];
}

/** One budget's state as a hold saw it, before the hold. */
export interface BudgetState {
  /** The limit that applied (an override's, or the default); 0 = none. */
  limitTicks: number;
  /** Spent and held ticks before this hold. */
  usedTicks: number;
}

export interface SpendDecision {
  allowed: boolean;
  /** When refused: the index in `budgets` of the first budget it would exceed. */
  refused?: number | undefined;
  budgets: BudgetState[];
}

export interface BudgetUsage {
  spentTicks: number;
  heldTicks: number;
}

/** A user's own limits, in ticks; undefined = the default applies. */
export interface BudgetOverride {
  dailyTicks?: number | undefined;
  monthlyTicks?: number | undefined;
}

export interface SpendStore {
  /**
   * Holds `ticks` against every budget in one atomic step, only if it fits all of them (a budget
   * with limit 0 is tracked, never refused). Lapsed holds are spent first.
   */
  hold(hold: SpendHold): Promise<SpendDecision>;
  /**
   * Replaces a hold by the call's real cost (a lapsed hold's worst case is corrected to it). Resolves
   * to each budget's spent and held ticks after it.
   */
  settle(hold: SpendHold, realTicks: number): Promise<BudgetUsage[]>;
  /**
   * Notes a user at `ratio` of a budget in a period's list of users near their budgets (`list`, e.g.
   * `d:2026-12-01`); a user's entry keeps its highest ratio. The list expires at `expiresAtMs`.
   */
  markNear(list: string, userId: string, ratio: number, expiresAtMs: number): Promise<void>;
  /** Takes a user off a list (their limit changed: their next call lists them again if near). */
  clearNear(list: string, userId: string): Promise<void>;
  /** The users of a list at `minRatio` or more, highest first, at most `limit`. */
  nearUsers(list: string, minRatio: number, limit: number): Promise<Array<{ userId: string; ratio: number }>>;
  /** Counts a refusal by `budget` in a day's tally (`day`, e.g. `d:2026-12-01`; kept 40 days). */
  countRefusal(day: string, budget: string): Promise<void>;
  /** A day's refusals by budget. */
  refusals(day: string): Promise<Record<string, number>>;
  /** Spent and held ticks of each budget key. */
  usage(keys: readonly string[]): Promise<BudgetUsage[]>;
  override(userId: string): Promise<BudgetOverride>;
  /** Many users' overrides, in order, in one round trip. */
  overridesOf(userIds: readonly string[]): Promise<BudgetOverride[]>;
  /** Sets a user's own limits; an undefined field removes that override. */
  setOverride(userId: string, override: BudgetOverride): Promise<void>;
  /** True when any user has an override (callers may skip budgets entirely otherwise). */
  hasOverrides(): Promise<boolean>;
}

/** The override hash's field for one user and period. */
export function overrideField(userId: string, period: OverridePeriod): string {
  return `${userId}:${period === 'daily' ? 'd' : 'm'}`;
}

export function assertHold(hold: SpendHold): void {
  if (!Number.isSafeInteger(hold.ticks) || hold.ticks < 0)
    throw new RangeError(`ticks must be a safe integer >= 0, got ${hold.ticks}`);
  if (!Number.isSafeInteger(hold.holdMs) || hold.holdMs <= 0)
    throw new RangeError(`holdMs must be a positive integer, got ${hold.holdMs}`);
  for (const budget of hold.budgets) {
    if (!Number.isSafeInteger(budget.limitTicks) || budget.limitTicks < 0) {
      throw new RangeError(`limitTicks must be a safe integer >= 0, got ${budget.limitTicks}`);
    }
    if (budget.key.length === 0 || /[{}|]/.test(budget.key)) throw new RangeError(`bad budget key ${budget.key}`);
  }
}
