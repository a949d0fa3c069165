import { randomUUID } from 'node:crypto';
import type { BudgetJson, BudgetUseJson, Config } from '@flashcase/config';
import type { BudgetOverride, BudgetState, BudgetUsage, SpendBudget, SpendHold, SpendStore } from '@flashcase/store';
import { HttpError, type Instruments } from '@flashcase/telemetry';
import { ticksToUsd } from '../usage/pricing';
import { type CalendarPeriods, periodsAt } from './periods';

/** The contract's budget names (`budget` of a `budget_exceeded` answer). */
export type SpendBudgetName = 'user_daily_usd' | 'user_monthly_usd' | 'monthly_usd';

const DAY_MS = 86_400_000;
/** How long a period's counters outlive it: last month's and yesterday's spend stay readable. */
const DAILY_KEEP_MS = 40 * DAY_MS;
const MONTHLY_KEEP_MS = 400 * DAY_MS;
/** Replicas notice an override set through another replica within this long. */
const OVERRIDES_RECHECK_MS = 5_000;

export interface SpendBudgetsOptions {
  /** `AI_BUDGET_SOFT_RATIO`: the share of a budget at which a user counts as near it. */
  softRatio: number;
  userDailyTicks: number;
  userMonthlyTicks: number;
  monthlyTicks: number;
  timeZone: string;
  /** An unsettled hold (its replica died) counts as spent at its worst case after this long. */
  holdMs: number;
  now?: () => number;
}

export interface SpendAdmission {
  /** Replaces the worst case held by the call's real cost. */
  settle(realTicks: number): Promise<void>;
}

/** `{daily_usd, monthly_usd}` as the budgets API shows a user's own limits (null = the default). */
export function overrideJson(override: BudgetOverride) {
  return {
    daily_usd: override.dailyTicks === undefined ? null : ticksToUsd(override.dailyTicks),
    monthly_usd: override.monthlyTicks === undefined ? null : ticksToUsd(override.monthlyTicks),
  };
}

function budgetExceeded(name: SpendBudgetName, limitTicks: number, retryAfterMs: number, single: boolean): HttpError {
  const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const limitUsd = ticksToUsd(limitTicks);
  const message = single
    ? `This request may cost more than the ${name} budget of $${limitUsd} on its own`
    : `Spend budget ${name} of $${limitUsd} is used up until it resets`;
  return new HttpError(429, 'budget_exceeded', message, {
    headers: { 'Retry-After': String(retryAfterS) },
    details: { budget: name, limit_usd: limitUsd, retry_after_s: retryAfterS },
  });
}

/**
 * The dollar budgets: each user's calendar day and month and the deployment's month, in
 * `BUDGET_TIMEZONE`. A call holds its worst-case cost against all three in one atomic store step
 * and settles to its real cost after; the period is part of every key, so budgets begin again at
 * local midnight with nothing to reset. With no default budget set, calls skip the store step
 * until an admin sets a user's own limit (noticed by every replica within 5 s).
 */
export class SpendBudgets {
  private readonly now: () => number;
  private readonly defaultsOn: boolean;
  private overrides = false;
  private overridesCheckedAt = Number.NEGATIVE_INFINITY;
  private periods: CalendarPeriods | undefined;
  private periodsMinute = Number.NaN;

  constructor(
    private readonly spend: SpendStore,
    private readonly instruments: Instruments,
    private readonly options: SpendBudgetsOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.defaultsOn = options.userDailyTicks > 0 || options.userMonthlyTicks > 0 || options.monthlyTicks > 0;
    this.applies(); // the first read of whether any override exists starts now
  }

  /**
   * The calendar periods of `now`, computed once a minute (a zone's offset changes on whole
   * minutes): a budgeted call does not pay for a time-zone conversion.
   */
  private periodsAt(now: number): CalendarPeriods {
    const minute = now - (now % 60_000);
    if (minute !== this.periodsMinute || this.periods === undefined) {
      this.periods = periodsAt(now, this.options.timeZone);
      this.periodsMinute = minute;
    }
    return this.periods;
  }

  private budgets(userId: string, now: number): Array<SpendBudget & { name: SpendBudgetName; resetsAtMs: number }> {
    const periods = this.periodsAt(now);
    const user = encodeURIComponent(userId);
    return [
      {
        name: 'user_daily_usd',
        key: `u:${user}:d:${periods.day}`,
        limitTicks: this.options.userDailyTicks,
        override: { userId, period: 'daily' },
        expiresAtMs: periods.dayEndsMs + DAILY_KEEP_MS,
        resetsAtMs: periods.dayEndsMs,
      },
      {
        name: 'user_monthly_usd',
        key: `u:${user}:m:${periods.month}`,
        limitTicks: this.options.userMonthlyTicks,
        override: { userId, period: 'monthly' },
        expiresAtMs: periods.monthEndsMs + MONTHLY_KEEP_MS,
        resetsAtMs: periods.monthEndsMs,
      },
      {
        name: 'monthly_usd',
        key: `all:m:${periods.month}`,
        limitTicks: this.options.monthlyTicks,
        expiresAtMs: periods.monthEndsMs + MONTHLY_KEEP_MS,
        resetsAtMs: periods.monthEndsMs,
      },
    ];
  }

  /**
   * Whether calls go through the budgets: a default is set, or some user has an override. Answered
   * at once from what is known; whether any override exists is re-read in the background every 5 s
   * (and set at once when this replica writes one).
   */
  applies(): boolean {
    if (this.defaultsOn) return true;
    const now = this.now();
    if (now - this.overridesCheckedAt >= OVERRIDES_RECHECK_MS) {
      this.overridesCheckedAt = now;
      void this.spend.hasOverrides().then(
        (found) => {
          this.overrides = found;
        },
        () => undefined,
      );
    }
    return this.overrides;
  }

  /**
   * Holds the call's worst case, or throws the contract's 429 `budget_exceeded` (Retry-After: until
   * the refusing budget resets). Undefined when no budget applies.
   */
  async admit(userId: string, worstTicks: () => number): Promise<SpendAdmission | undefined> {
    if (!this.applies()) return undefined;
    const now = this.now();
    const budgets = this.budgets(userId, now);
    const hold: SpendHold = { id: randomUUID(), ticks: worstTicks(), holdMs: this.options.holdMs, budgets };
    const decision = await this.spend.hold(hold);
    if (!decision.allowed) {
      const index = decision.refused ?? 0;
      const budget = budgets[index] ?? budgets[0];
      const limit = decision.budgets[index]?.limitTicks ?? 0;
      if (!budget) throw new Error('no budget refused');
      this.noteRefusal(budget.name);
      throw budgetExceeded(budget.name, limit, budget.resetsAtMs - now, hold.ticks > limit);
    }
    return {
      settle: async (realTicks) => {
        const after = await this.spend.settle(hold, realTicks).catch(() => []);
        await this.markNear(userId, budgets, decision.budgets, after);
      },
    };
  }

  /** `AI_BUDGET_SOFT_RATIO`. */
  get softRatio(): number {
    return this.options.softRatio;
  }

  /** A day's refusals by budget (`day`: `yyyy-MM-dd` in `BUDGET_TIMEZONE`). */
  refusals(day: string): Promise<Record<string, number>> {
    return this.spend.refusals(`d:${day}`);
  }

  /** Counts a refusal by a budget: the metric, and the day's tally (the digest). */
  noteRefusal(budget: SpendBudgetName | 'user_hourly_tokens'): void {
    this.instruments.budgetRejections.add(1, { budget });
    const day = `d:${this.periodsAt(this.now()).day}`;
    void this.spend.countRefusal(day, budget).catch(() => undefined);
  }

  /**
   * Lists the user among those near their budgets (`AI_BUDGET_SOFT_RATIO`) of the day or month when
   * a settled call took them there: what `UserBudgetNearlySpent` and the digest read.
   */
  private async markNear(
    userId: string,
    budgets: ReturnType<SpendBudgets['budgets']>,
    states: readonly BudgetState[],
    after: readonly BudgetUsage[],
  ): Promise<void> {
    for (const i of [0, 1]) {
      const budget = budgets[i];
      const limit = states[i]?.limitTicks ?? 0;
      const usage = after[i];
      if (!budget || limit <= 0 || !usage) continue;
      const ratio = (usage.spentTicks + usage.heldTicks) / limit;
      if (ratio < this.options.softRatio) continue;
      const list = `${i === 0 ? 'd' : 'm'}:${budget.key.slice(budget.key.lastIndexOf(':') + 1)}`;
      await this.spend.markNear(list, userId, Math.round(ratio * 1e6) / 1e6, budget.expiresAtMs).catch(() => undefined);
    }
  }

  /**
   * Users at `AI_BUDGET_SOFT_RATIO` or more of their daily or monthly budget, highest first: today's
   * and this month's, or those of `day` (`yyyy-MM-dd`) and its month.
   */
  async nearUsers(
    limit = 100,
    day?: string,
  ): Promise<Array<{ user_id: string; budget: 'user_daily_usd' | 'user_monthly_usd'; used_ratio: number }>> {
    const periods = day ? { day, month: day.slice(0, 7) } : this.periodsAt(this.now());
    const [daily, monthly] = await Promise.all([
      this.spend.nearUsers(`d:${periods.day}`, this.options.softRatio, limit),
      this.spend.nearUsers(`m:${periods.month}`, this.options.softRatio, limit),
    ]);
    return [
      ...daily.map((u) => ({ user_id: u.userId, budget: 'user_daily_usd' as const, used_ratio: u.ratio })),
      ...monthly.map((u) => ({ user_id: u.userId, budget: 'user_monthly_usd' as const, used_ratio: u.ratio })),
    ]
      .sort((a, b) => b.used_ratio - a.used_ratio)
      .slice(0, limit);
  }

  /**
   * Budgets now: limit (override or default), spent, held, remaining, reset. A user's own two, or
   * (no user) the deployment's monthly one.
   */
  async status(userId: string | undefined): Promise<BudgetJson[]> {
    const budgets = this.budgets(userId ?? '', this.now()).filter((b) =>
      userId === undefined ? b.name === 'monthly_usd' : b.name !== 'monthly_usd',
    );
    const deployment = userId === undefined;
    const [usage, override, refusals] = await Promise.all([
      this.spend.usage(budgets.map((b) => b.key)),
      deployment ? ({} as BudgetOverride) : this.spend.override(userId),
      deployment ? this.spend.refusals(`d:${this.periodsAt(this.now()).day}`) : undefined,
    ]);
    return budgets.map((budget, i) => {
      const own =
        budget.name === 'user_daily_usd'
          ? override.dailyTicks
          : budget.name === 'user_monthly_usd'
            ? override.monthlyTicks
            : undefined;
      const limit = own ?? budget.limitTicks;
      const spent = usage[i]?.spentTicks ?? 0;
      const held = usage[i]?.heldTicks ?? 0;
      return {
        budget: budget.name,
        limit_usd: limit > 0 ? ticksToUsd(limit) : null,
        source: own === undefined ? 'default' : 'user',
        spent_usd: ticksToUsd(spent),
        held_usd: ticksToUsd(held),
        remaining_usd: limit > 0 ? ticksToUsd(Math.max(0, limit - spent - held)) : null,
        resets_at: new Date(budget.resetsAtMs).toISOString(),
        ...(refusals ? { refused_today: refusals[budget.name] ?? 0 } : {}),
      };
    });
  }

  /**
   * The daily (or monthly) budget use of many users at once (the reports), in two round trips; null
   * for every user when no budget applies to anyone.
   */
  async useOf(userIds: readonly string[], budget: 'daily' | 'monthly'): Promise<Array<BudgetUseJson | null>> {
    if (userIds.length === 0 || !this.applies()) return userIds.map(() => null);
    const index = budget === 'daily' ? 0 : 1;
    const perUser = userIds.map((id) => this.budgets(id, this.now())[index]);
    const [usage, overrides] = await Promise.all([
      this.spend.usage(perUser.map((b) => b?.key ?? '')),
      this.spend.overridesOf(userIds),
    ]);
    return userIds.map((_, i) => {
      const own = budget === 'daily' ? overrides[i]?.dailyTicks : overrides[i]?.monthlyTicks;
      const limit = own ?? (budget === 'daily' ? this.options.userDailyTicks : this.options.userMonthlyTicks);
      const used = (usage[i]?.spentTicks ?? 0) + (usage[i]?.heldTicks ?? 0);
      return {
        budget: budget === 'daily' ? 'user_daily_usd' : 'user_monthly_usd',
        limit_usd: limit > 0 ? ticksToUsd(limit) : null,
        spent_usd: ticksToUsd(usage[i]?.spentTicks ?? 0),
        used_ratio: limit > 0 ? Math.round((used / limit) * 1e6) / 1e6 : null,
      };
    });
  }

  override(userId: string): Promise<BudgetOverride> {
    return this.spend.override(userId);
  }

  async setOverride(userId: string, override: BudgetOverride): Promise<void> {
    await this.spend.setOverride(userId, override);
    // near a limit that changed: off the lists until a call under the new limit lists them again
    const periods = this.periodsAt(this.now());
    await Promise.all([
      this.spend.clearNear(`d:${periods.day}`, userId),
      this.spend.clearNear(`m:${periods.month}`, userId),
    ]);
    // this replica applies it at once; the others within OVERRIDES_RECHECK_MS
    if (override.dailyTicks !== undefined || override.monthlyTicks !== undefined) this.overrides = true;
  }
}

/** The spend budgets of a configuration. */
export function spendBudgets(
  config: Config,
  spend: SpendStore,
  instruments: Instruments,
  now?: () => number,
): SpendBudgets {
  return new SpendBudgets(spend, instruments, {
    softRatio: config.budgets.softRatio,
    userDailyTicks: config.budgets.userDailyTicks,
    userMonthlyTicks: config.budgets.userMonthlyTicks,
    monthlyTicks: config.budgets.monthlyTicks,
    timeZone: config.budgets.timeZone,
    // a hold outlives any call the upstream can still answer: stalls end at the upstream timeout
    holdMs: config.ai.upstreamTimeoutMs + 30_000,
    ...(now ? { now } : {}),
  });
}
