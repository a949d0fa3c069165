import type {
  PerActiveUserJson,
  PricingCheckJson,
  PricingCheckWindowJson,
  RateLimitsJson,
  UsageCountersJson,
  UsageJson,
  UsageSnapshotJson,
  UsageTimeseriesJson,
  UserUsageJson,
} from '@flashcase/config';
import type { CountersStore, PeriodSummary, PricingCheck, UsageCounters, UsageSnapshot } from '@flashcase/store';
import { HttpError, requireUser } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';
import { reportPeriod } from '../budgets/periods';
import type { SpendBudgets } from '../budgets/spend-budgets';
import { ticksToUsd } from '../usage/pricing';

export interface UsageRoutesDeps {
  store: CountersStore;
  budgets: SpendBudgets;
  /** `BUDGET_TIMEZONE`: where this month begins (`per_active_user`). */
  timeZone: string;
  now?: () => number;
  alertThreshold: number;
  model: string;
  defaultTemperature: number;
  maxTokens: { chat: number; rewrite: number; autocomplete: number };
  rateLimits: { aiPerMinute: number; aiPerHour: number; generalPerMinute: number; generalPerHour: number };
}

const round6 = (ratio: number) => Math.round(ratio * 1e6) / 1e6;
/** Dollars to the tick (1e-10 USD), the unit costs are counted in. */
const roundTicks = (usd: number) => Math.round(usd * 1e10) / 1e10;

function counters(c: UsageCounters): UsageCountersJson {
  return {
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    total_tokens: c.totalTokens,
    reasoning_tokens: c.reasoningTokens,
    cached_prompt_tokens: c.cachedPromptTokens,
    requests: c.requests,
    estimated_cost_usd: ticksToUsd(c.costTicks),
  };
}

function pricingWindow(check: PricingCheck): PricingCheckWindowJson {
  return {
    calls_billed: check.calls,
    billed_usd: ticksToUsd(check.billedTicks),
    priced_usd: ticksToUsd(check.pricedTicks),
    drift_ratio: check.billedTicks > 0 ? round6((check.pricedTicks - check.billedTicks) / check.billedTicks) : 0,
  };
}

function pricingJson(snapshot: UsageSnapshot): PricingCheckJson {
  return { ...pricingWindow(snapshot.pricingCheck), last_24h: pricingWindow(snapshot.pricingCheckLast24h) };
}

function breakdown(groups: Record<string, UsageCounters>): Record<string, UsageCountersJson> {
  return Object.fromEntries(Object.entries(groups).map(([name, c]) => [name, counters(c)]));
}

function snapshotJson(snapshot: UsageSnapshot): UsageSnapshotJson {
  const hourlyUsd = ticksToUsd(snapshot.lastHour.costTicks);
  return {
    usage: {
      total_prompt_tokens: snapshot.totals.promptTokens,
      total_completion_tokens: snapshot.totals.completionTokens,
      total_tokens: snapshot.totals.totalTokens,
      total_requests: snapshot.totals.requests,
      total_reasoning_tokens: snapshot.totals.reasoningTokens,
      total_cached_prompt_tokens: snapshot.totals.cachedPromptTokens,
    },
    estimated_cost_usd: ticksToUsd(snapshot.totals.costTicks),
    last_hour: counters(snapshot.lastHour),
    by_operation: breakdown(snapshot.byOperation),
    by_model: breakdown(snapshot.byModel),
    projection: {
      hourly_usd: roundTicks(hourlyUsd),
      daily_usd: roundTicks(hourlyUsd * 24),
      monthly_usd: roundTicks(hourlyUsd * 24 * 30),
    },
    since: snapshot.since ?? null,
  };
}

const WINDOW = /^(\d{1,5})([smhd])$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_WINDOW_S = 24 * 3600;
const MAX_POINTS = 1440;

/** `window` (`90m`, `1h`, `24h`; default 1h) and `step` (seconds, a multiple of 60; default 60). */
function parseTimeseriesQuery(query: Request['query']): { windowS: number; stepS: number } {
  const rawWindow = query.window ?? '1h';
  const match = typeof rawWindow === 'string' ? WINDOW.exec(rawWindow) : null;
  if (!match)
    throw new HttpError(400, 'invalid_request', 'Invalid field window: expected a duration like 15m, 1h or 24h');
  const windowS = Number(match[1]) * (UNIT_S[match[2] ?? 's'] ?? 1);
  if (windowS < 60 || windowS > MAX_WINDOW_S) {
    throw new HttpError(400, 'invalid_request', 'Invalid field window: must be between 1m and 24h');
  }
  const rawStep = query.step ?? '60';
  const stepS = typeof rawStep === 'string' && /^\d{1,6}$/.test(rawStep) ? Number(rawStep) : Number.NaN;
  if (!Number.isInteger(stepS) || stepS < 60 || stepS % 60 !== 0) {
    throw new HttpError(400, 'invalid_request', 'Invalid field step: seconds, a multiple of 60');
  }
  if (windowS / stepS > MAX_POINTS)
    throw new HttpError(400, 'invalid_request', `Invalid field step: at most ${MAX_POINTS} points`);
  return { windowS, stepS };
}

/** Cost per active user this month, and the month's projection at this month's rate so far. */
export function perActiveUser(
  month: { label: string; startMs: number; endMs: number },
  summary: PeriodSummary,
  nowMs: number,
): PerActiveUserJson {
  const cost = summary.counters.costTicks;
  const elapsed = Math.max(1, nowMs - month.startMs);
  const projected = Math.round((cost * (month.endMs - month.startMs)) / elapsed);
  const per = (ticks: number) => (summary.activeUsers > 0 ? roundTicks(ticksToUsd(ticks) / summary.activeUsers) : null);
  return {
    month: month.label.slice(1),
    active_users: summary.activeUsers,
    cost_usd: ticksToUsd(cost),
    cost_per_active_user_usd: per(cost),
    projected_month_cost_usd: ticksToUsd(projected),
    projected_cost_per_active_user_usd: per(projected),
  };
}

/** `/api/v1/ai/usage` (admin), `/usage/me` (any user) and `/usage/timeseries` (admin). */
export function usageRoutes(deps: UsageRoutesDeps): Router {
  const router = Router();
  const { store, alertThreshold } = deps;
  const rateLimits: RateLimitsJson = {
    ai_per_minute: deps.rateLimits.aiPerMinute,
    ai_per_hour: deps.rateLimits.aiPerHour,
    general_per_minute: deps.rateLimits.generalPerMinute,
    general_per_hour: deps.rateLimits.generalPerHour,
  };

  router.get('/api/v1/ai/usage', requireUser({ admin: true }), async (_req: Request, res: Response) => {
    const month = reportPeriod('month', (deps.now ?? Date.now)(), deps.timeZone);
    const [snapshot, budgets, summary, near] = await Promise.all([
      store.usage(),
      deps.budgets.status(undefined),
      store.periodSummary(month.label),
      deps.budgets.nearUsers(),
    ]);
    const body = snapshotJson(snapshot);
    const answer: UsageJson = {
      usage: body.usage,
      alert_threshold: alertThreshold,
      alert_triggered: snapshot.lastHour.totalTokens >= alertThreshold,
      cost_control: {
        model: deps.model,
        default_temperature: deps.defaultTemperature,
        max_tokens: { ...deps.maxTokens },
      },
      rate_limits: rateLimits,
      estimated_cost_usd: body.estimated_cost_usd,
      pricing_check: pricingJson(snapshot),
      last_hour: body.last_hour,
      by_operation: body.by_operation,
      by_model: body.by_model,
      projection: body.projection,
      since: body.since,
      budgets,
      per_active_user: perActiveUser(month, summary, (deps.now ?? Date.now)()),
      budget_soft_ratio: deps.budgets.softRatio,
      users_near_budget: near,
    };
    res.json(answer);
  });

  router.get('/api/v1/ai/usage/me', requireUser(), async (req: Request, res: Response) => {
    const userId = req.user?.id ?? '';
    const [snapshot, budgets] = await Promise.all([store.userUsage(userId), deps.budgets.status(userId)]);
    const answer: UserUsageJson = { user_id: userId, ...snapshotJson(snapshot), rate_limits: rateLimits, budgets };
    res.json(answer);
  });

  router.get('/api/v1/ai/usage/timeseries', requireUser({ admin: true }), async (req: Request, res: Response) => {
    const { windowS, stepS } = parseTimeseriesQuery(req.query);
    const points = await store.timeseries(windowS * 1000, stepS * 1000);
    const answer: UsageTimeseriesJson = {
      window_s: windowS,
      step_s: stepS,
      points: points.map((p) => ({
        timestamp: new Date(p.startMs).toISOString(),
        prompt_tokens: p.counters.promptTokens,
        completion_tokens: p.counters.completionTokens,
        total_tokens: p.counters.totalTokens,
        reasoning_tokens: p.counters.reasoningTokens,
        cached_prompt_tokens: p.counters.cachedPromptTokens,
        requests: p.counters.requests,
        errors: p.counters.errors,
        cost_usd: ticksToUsd(p.counters.costTicks),
      })),
    };
    res.json(answer);
  });

  return router;
}
