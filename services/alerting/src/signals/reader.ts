import type { WatchedService } from '../rules/alert-rule';

/** The gateway's request stats over a window (`GET /api/v1/internal/stats`). */
export interface GatewayStats {
  windowS: number;
  requests: number;
  status5xx: number;
  errorRate: number;
  /** null when the window saw no request. */
  latencyP95S: number | null;
}

/** `pricing_check.last_24h` of ai-proxy's usage: the provider's bill against the pricing table. */
export interface PricingCheck {
  /** Calls whose upstream usage carried the provider's billed cost (xAI's `cost_in_usd_ticks`). */
  callsBilled: number;
  /** (priced - billed) / billed; 0 with no billed call. */
  driftRatio: number;
}

/** A spend budget a user is near: `users_near_budget[]` of ai-proxy's usage. */
export type UserBudgetName = 'user_daily_usd' | 'user_monthly_usd';

/** One entry of `users_near_budget`. */
export interface UserNearBudget {
  userId: string;
  budget: UserBudgetName;
  /** (spent + held) / limit. */
  usedRatio: number;
}

/** `budgets[monthly_usd]` of ai-proxy's usage: the deployment's calendar month. */
export interface MonthlyBudget {
  spentUsd: number;
  /** null: no AI_BUDGET_USD_PER_MONTH. */
  limitUsd: number | null;
  /** Calls it refused today (`refused_today`): it is used up though the spend stays a little below. */
  refusedToday: number;
}

/**
 * ai-proxy's `GET /api/v1/ai/usage`, read once per evaluation for every rule that needs it. A field
 * the answer lacks (or carries with a wrong type) is undefined: its rules are not evaluated, the
 * others are (an ai-proxy older than the pricing check still feeds the token rules).
 */
export interface AiUsage {
  /** `last_hour.total_tokens`: cluster-wide tokens in the rolling last hour. */
  tokensLastHour: number | undefined;
  /** `pricing_check.last_24h`. */
  pricingCheck24h: PricingCheck | undefined;
  /** `budgets[monthly_usd]`. */
  monthlyBudget?: MonthlyBudget | undefined;
  /** `users_near_budget` (at most 100, highest first). */
  usersNearBudget?: UserNearBudget[] | undefined;
}

/** One health check: `ok` when the service answered 200 with a health body. */
export interface HealthProbe {
  ok: boolean;
  /** `checks.memory.utilization` when the answer carried it. */
  memoryUtilization?: number;
  /** Why the check failed (no secrets: status codes and error codes only). */
  error?: string;
}

/**
 * Where the evaluator reads its signals. Each read throws when the signal cannot be read
 * (`SignalError`), except `health`, whose failure is itself the signal.
 */
export interface SignalReader {
  /** ai-proxy's cluster-wide usage: the tokens of the last hour and the last 24 h's pricing check. */
  aiUsage(): Promise<AiUsage>;
  /**
   * One user's used share of each of their spend budgets now (`GET /api/v1/ai/budgets/users/:id`:
   * (spent + held) / limit; null without a limit).
   */
  userBudgets(userId: string): Promise<Record<UserBudgetName, number | null>>;
  gatewayStats(windowS: number): Promise<GatewayStats>;
  health(service: WatchedService): Promise<HealthProbe>;
}

/** A signal that could not be read; `message` is safe to log. */
export class SignalError extends Error {
  override readonly name = 'SignalError';
}
