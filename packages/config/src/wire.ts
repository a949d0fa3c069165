// JSON answers of the contract that more than one package reads. ai-proxy builds them with these
// types and the dashboard and the CLI read them with the same ones, so a renamed or retyped field
// fails to compile everywhere at once instead of showing as a blank cell.

/** One group's counters: `last_hour`, and each entry of `by_operation` and `by_model`. */
export interface UsageCountersJson {
  /** Cached prompt tokens included. */
  prompt_tokens: number;
  /** Reasoning tokens included (billed as output). */
  completion_tokens: number;
  total_tokens: number;
  /** Of `completion_tokens`. */
  reasoning_tokens: number;
  /** Of `prompt_tokens`. */
  cached_prompt_tokens: number;
  requests: number;
  estimated_cost_usd: number;
}

/** Over calls whose usage carried the provider's billed cost: the bill and what the pricing table said. */
export interface PricingCheckWindowJson {
  calls_billed: number;
  billed_usd: number;
  priced_usd: number;
  /** (priced - billed) / billed; 0 with no billed calls. */
  drift_ratio: number;
}

/** `pricing_check` of `/api/v1/ai/usage`: since counting began, and over the last 24 hours. */
export interface PricingCheckJson extends PricingCheckWindowJson {
  last_24h: PricingCheckWindowJson;
}

/** What `/api/v1/ai/usage` and `/api/v1/ai/usage/me` share (contract section 6). */
export interface UsageSnapshotJson {
  usage: {
    total_prompt_tokens: number;
    total_completion_tokens: number;
    total_tokens: number;
    total_requests: number;
    total_reasoning_tokens: number;
    total_cached_prompt_tokens: number;
  };
  estimated_cost_usd: number;
  last_hour: UsageCountersJson;
  by_operation: Record<string, UsageCountersJson>;
  by_model: Record<string, UsageCountersJson>;
  projection: { hourly_usd: number; daily_usd: number; monthly_usd: number };
  /** When counting began (ISO 8601), null before the first call. */
  since: string | null;
}

/** The limits as configured; 0 means off. */
export interface RateLimitsJson {
  ai_per_minute: number;
  ai_per_hour: number;
  general_per_minute: number;
  general_per_hour: number;
}

/** One spend budget now: its limit, what is spent and held in the current period, when it resets. */
export interface BudgetJson {
  budget: 'user_daily_usd' | 'user_monthly_usd' | 'monthly_usd';
  /** null: no limit applies (the period's spend is still shown). */
  limit_usd: number | null;
  /** `user`: an admin's override for this user; `default`: the deployment's setting. */
  source: 'default' | 'user';
  spent_usd: number;
  /** The worst cases of calls under way. */
  held_usd: number;
  remaining_usd: number | null;
  /** The next local midnight (ISO 8601) in `BUDGET_TIMEZONE`. */
  resets_at: string;
  /**
   * The deployment's budget only: calls it refused today, cluster-wide. Calls are refused while
   * their worst case no longer fits, so a budget is used up before its spend reaches the limit.
   */
  refused_today?: number;
}

/** A user's use of their daily (period hour, day) or monthly budget in the reports. */
export interface BudgetUseJson {
  budget: 'user_daily_usd' | 'user_monthly_usd';
  /** null: no limit for this user (the spend is still shown). */
  limit_usd: number | null;
  spent_usd: number;
  /** (spent + held) / limit; null without a limit. */
  used_ratio: number | null;
}

/** One user of `GET /api/v1/ai/usage/users`. */
export interface ReportUserJson {
  user_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_prompt_tokens: number;
  total_tokens: number;
  requests: number;
  errors: number;
  estimated_cost_usd: number;
  /** null: no budget applies to anyone. */
  budget: BudgetUseJson | null;
}

/** `GET /api/v1/ai/usage/users?period=hour|day|month&sort=cost|tokens&limit=N` (admin). */
export interface UsageUsersJson {
  period: 'hour' | 'day' | 'month';
  /** Start of the period in `BUDGET_TIMEZONE` (ISO 8601). */
  since: string;
  sort: 'cost' | 'tokens';
  users: ReportUserJson[];
}

/** `GET/PUT/DELETE /api/v1/ai/budgets/users/:id` (admin): a user's own limits (null = the default). */
export interface UserBudgetsJson {
  user_id: string;
  daily_usd: number | null;
  monthly_usd: number | null;
  budgets: BudgetJson[];
}

/** `GET /api/v1/ai/usage` (admin): cluster-wide usage, the alert threshold and the cost controls. */
export interface UsageJson extends UsageSnapshotJson {
  alert_threshold: number;
  alert_triggered: boolean;
  cost_control: {
    model: string;
    default_temperature: number;
    max_tokens: { chat: number; rewrite: number; autocomplete: number };
  };
  rate_limits: RateLimitsJson;
  pricing_check: PricingCheckJson;
  /** The deployment's monthly spend budget. */
  budgets: BudgetJson[];
  /** This calendar month (`BUDGET_TIMEZONE`): active users and the cost per active user. */
  per_active_user: PerActiveUserJson;
  /** `AI_BUDGET_SOFT_RATIO`. */
  budget_soft_ratio: number;
  /** Users at `budget_soft_ratio` or more of today's or this month's budget, highest first (at most 100). */
  users_near_budget: NearBudgetJson[];
}

/** A user near a spend budget. */
export interface NearBudgetJson {
  user_id: string;
  budget: 'user_daily_usd' | 'user_monthly_usd';
  /** (spent + held) / limit after the user's last call. */
  used_ratio: number;
}

/** `GET /api/v1/ai/usage/digest?date=yyyy-MM-dd` (admin): one calendar day's review (the daily digest). */
export interface UsageDigestJson {
  /** `yyyy-MM-dd` in `time_zone`; yesterday by default. */
  date: string;
  time_zone: string;
  day: DigestFiguresJson;
  previous_day: DigestFiguresJson;
  /** The seven days before `date`, averaged per day. */
  last_7_days_average: DigestFiguresJson;
  /** The day's top users by cost (5). */
  top_users: DigestLineJson[];
  /** The day's operations and models by cost, highest first. */
  top_operations: DigestLineJson[];
  top_models: DigestLineJson[];
  /** The day's refusals by budget (`user_daily_usd`, `user_monthly_usd`, `monthly_usd`, `user_hourly_tokens`). */
  budget_refusals: Record<string, number>;
  /** Users near their budgets now (at `AI_BUDGET_SOFT_RATIO` or more). */
  users_near_budget: NearBudgetJson[];
  /** The month of `date`: active users, cost per active user and the projection. */
  per_active_user: PerActiveUserJson;
}

export interface DigestFiguresJson {
  prompt_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cached_prompt_tokens: number;
  total_tokens: number;
  requests: number;
  errors: number;
  cost_usd: number;
  /** The part of `cost_usd` the provider billed (the rest is priced from the table). */
  billed_usd: number;
  /** `billed_usd / cost_usd`; 0 without cost. */
  billed_share: number;
  active_users: number;
}

export interface DigestLineJson {
  /** The user id, operation or model. */
  name: string;
  cost_usd: number;
  total_tokens: number;
  requests: number;
}

/** The seed's figure: cost per active user this month, and its projection to the month's end. */
export interface PerActiveUserJson {
  /** `yyyy-MM`. */
  month: string;
  /** Users with at least one AI call this month. */
  active_users: number;
  cost_usd: number;
  /** null with no active user. */
  cost_per_active_user_usd: number | null;
  /** This month's cost so far, scaled to the whole month at the same rate. */
  projected_month_cost_usd: number;
  projected_cost_per_active_user_usd: number | null;
}

/** `GET /api/v1/ai/usage/me`: the caller's own usage. */
export interface UserUsageJson extends UsageSnapshotJson {
  user_id: string;
  rate_limits: RateLimitsJson;
  /** The caller's daily and monthly spend budgets. */
  budgets: BudgetJson[];
}

/** `GET /api/v1/ai/usage/timeseries?window=1h&step=60` (admin). */
export interface UsageTimeseriesJson {
  window_s: number;
  step_s: number;
  points: {
    /** Start of the step (ISO 8601). */
    timestamp: string;
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    reasoning_tokens: number;
    cached_prompt_tokens: number;
    requests: number;
    errors: number;
    cost_usd: number;
  }[];
}
