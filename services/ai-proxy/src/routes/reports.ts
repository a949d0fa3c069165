import type {
  BudgetUseJson,
  DigestFiguresJson,
  DigestLineJson,
  ReportUserJson,
  UsageDigestJson,
  UsageUsersJson,
} from '@flashcase/config';
import {
  addCounters,
  type CountersStore,
  emptyCounters,
  type PeriodSummary,
  type PeriodUser,
  type UsageCounters,
} from '@flashcase/store';
import { HttpError, isUserId, requireUser, sendJson } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';
import { DateTime } from 'luxon';
import { type PeriodKind, reportPeriod } from '../budgets/periods';
import type { SpendBudgets } from '../budgets/spend-budgets';
import { ticksToUsd } from '../usage/pricing';
import { drainedOrClosed } from './sse';
import { perActiveUser } from './usage';

const PERIODS: readonly PeriodKind[] = ['hour', 'day', 'month'];
const MAX_LIMIT = 1000;
const CSV_PAGE = 500;
const CSV_COLUMNS = [
  'user_id',
  'prompt_tokens',
  'completion_tokens',
  'reasoning_tokens',
  'cached_prompt_tokens',
  'total_tokens',
  'requests',
  'errors',
  'estimated_cost_usd',
];

export interface ReportsRoutesDeps {
  store: CountersStore;
  budgets: SpendBudgets;
  timeZone: string;
  now?: () => number;
}

function invalid(field: string, message: string): HttpError {
  return new HttpError(400, 'invalid_request', `Invalid field ${field}: ${message}`, { details: { field } });
}

function query(req: Request) {
  const period = String(req.query.period ?? 'day') as PeriodKind;
  if (!PERIODS.includes(period)) throw invalid('period', 'one of hour, day, month');
  const sort = String(req.query.sort ?? 'cost');
  if (sort !== 'cost' && sort !== 'tokens') throw invalid('sort', 'one of cost, tokens');
  const limit = Number(req.query.limit ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw invalid('limit', `an integer from 1 to ${MAX_LIMIT}`);
  const format = String(req.query.format ?? 'json');
  if (format !== 'json' && format !== 'csv') throw invalid('format', 'json or csv');
  return { period, sort: sort as 'cost' | 'tokens', limit, format };
}

function userJson(userId: string, c: UsageCounters, budget: BudgetUseJson | null): ReportUserJson {
  return {
    user_id: userId,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    reasoning_tokens: c.reasoningTokens,
    cached_prompt_tokens: c.cachedPromptTokens,
    total_tokens: c.totalTokens,
    requests: c.requests,
    errors: c.errors,
    estimated_cost_usd: ticksToUsd(c.costTicks),
    budget,
  };
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow({ userId, counters: c }: PeriodUser): string {
  return `${[
    userId,
    c.promptTokens,
    c.completionTokens,
    c.reasoningTokens,
    c.cachedPromptTokens,
    c.totalTokens,
    c.requests,
    c.errors,
    ticksToUsd(c.costTicks),
  ]
    .map(csvField)
    .join(',')}\r\n`;
}

/**
 * Spend reports (admin): `GET /api/v1/ai/usage/users` ranks the current hour's, day's or month's
 * users (in `BUDGET_TIMEZONE`) by cost or tokens, from counters every replica adds to; with
 * `format=csv` it streams every user of the period, a page at a time. `GET /usage/users/:id` is one
 * user's hour, day and month.
 */
export function reportsRoutes({ store, budgets, timeZone, now = Date.now }: ReportsRoutesDeps): Router {
  const router = Router();
  const admin = requireUser({ admin: true });

  router.get('/api/v1/ai/usage/users', admin, async (req: Request, res: Response) => {
    const { period, sort, limit, format } = query(req);
    const current = reportPeriod(period, now(), timeZone);
    if (format === 'csv') {
      res.status(200);
      res.setHeader('content-type', 'text/csv; charset=utf-8');
      res.setHeader('content-disposition', `attachment; filename="usage-users-${current.label.slice(1)}.csv"`);
      res.write(`${CSV_COLUMNS.join(',')}\r\n`);
      let cursor = '0';
      do {
        const page = await store.scanPeriodUsers(current.label, cursor, CSV_PAGE);
        // one page in memory at a time, and no more than the client takes (backpressure)
        if (!res.write(page.users.map(csvRow).join(''))) await drainedOrClosed(res);
        if (res.destroyed) return;
        cursor = page.cursor;
      } while (cursor !== '0');
      res.end();
      return;
    }
    const users = await store.periodUsers(current.label, sort, limit);
    const use = await budgets.useOf(
      users.map((u) => u.userId),
      period === 'month' ? 'monthly' : 'daily',
    );
    const report: UsageUsersJson = {
      period,
      since: new Date(current.startMs).toISOString(),
      sort,
      users: users.map((u, i) => userJson(u.userId, u.counters, use[i] ?? null)),
    };
    sendJson(res, report, 200);
  });

  router.get('/api/v1/ai/usage/users/:id', admin, async (req: Request, res: Response) => {
    const userId = String(req.params.id ?? '');
    if (!isUserId(userId)) throw invalid('id', 'a user id of 1 to 128 of A-Z a-z 0-9 . _ : @ | -');
    const at = now();
    const kinds = PERIODS.map((kind) => ({ kind, ...reportPeriod(kind, at, timeZone) }));
    const [counters, status] = await Promise.all([
      Promise.all(kinds.map((p) => store.periodUser(p.label, userId))),
      budgets.status(userId),
    ]);
    const periods: Record<string, unknown> = {};
    kinds.forEach((p, i) => {
      const c = counters[i] as UsageCounters;
      const { user_id: _, budget: __, ...figures } = userJson(userId, c, null);
      periods[p.kind] = { since: new Date(p.startMs).toISOString(), ...figures };
    });
    sendJson(res, { user_id: userId, periods, budgets: status }, 200);
  });

  router.get('/api/v1/ai/usage/digest', admin, async (req: Request, res: Response) => {
    const at = now();
    const date = digestDate(req.query.date, at, timeZone);
    const day = (offset: number) => DateTime.fromISO(date, { zone: timeZone }).plus({ days: offset });
    const label = (d: DateTime) => `d${d.toFormat('yyyy-LL-dd')}`;
    const week = [-7, -6, -5, -4, -3, -2, -1].map((offset) => label(day(offset)));
    const monthStart = day(0).startOf('month');
    const month = {
      label: `m${monthStart.toFormat('yyyy-LL')}`,
      startMs: monthStart.toMillis(),
      endMs: monthStart.plus({ months: 1 }).toMillis(),
    };
    const [summary, previous, weekSummaries, topUsers, monthSummary, refusals, near] = await Promise.all([
      store.periodSummary(label(day(0))),
      store.periodSummary(label(day(-1))),
      Promise.all(week.map((l) => store.periodSummary(l))),
      store.periodUsers(label(day(0)), 'cost', 5),
      store.periodSummary(month.label),
      budgets.refusals(date),
      budgets.nearUsers(100, date),
    ]);
    const digest: UsageDigestJson = {
      date,
      time_zone: timeZone,
      day: figures([summary], 1),
      previous_day: figures([previous], 1),
      last_7_days_average: figures(weekSummaries, 7),
      top_users: topUsers.map((u) => line(u.userId, u.counters)),
      top_operations: byCost(summary.byOperation),
      top_models: byCost(summary.byModel),
      budget_refusals: refusals,
      users_near_budget: near,
      per_active_user: perActiveUser(month, monthSummary, Math.min(at, month.endMs)),
    };
    sendJson(res, digest, 200);
  });

  return router;
}

/** `date` as asked (`yyyy-MM-dd`), or yesterday in `zone`. */
function digestDate(asked: unknown, nowMs: number, zone: string): string {
  if (asked === undefined) return DateTime.fromMillis(nowMs, { zone }).minus({ days: 1 }).toFormat('yyyy-LL-dd');
  const text = String(asked);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || !DateTime.fromISO(text, { zone }).isValid) {
    throw invalid('date', 'a calendar date yyyy-MM-dd');
  }
  return text;
}

/** The figures of some days, summed and divided by `days` (an average per day for the week). */
function figures(summaries: readonly PeriodSummary[], days: number): DigestFiguresJson {
  const sum = emptyCounters();
  let billed = 0;
  let active = 0;
  for (const s of summaries) {
    addCounters(sum, s.counters);
    billed += s.pricingCheck.billedTicks;
    active += s.activeUsers;
  }
  const per = (n: number) => Math.round(n / days);
  return {
    prompt_tokens: per(sum.promptTokens),
    completion_tokens: per(sum.completionTokens),
    reasoning_tokens: per(sum.reasoningTokens),
    cached_prompt_tokens: per(sum.cachedPromptTokens),
    total_tokens: per(sum.totalTokens),
    requests: per(sum.requests),
    errors: per(sum.errors),
    cost_usd: ticksToUsd(per(sum.costTicks)),
    billed_usd: ticksToUsd(per(billed)),
    billed_share: sum.costTicks > 0 ? Math.round((billed / sum.costTicks) * 1e6) / 1e6 : 0,
    active_users: per(active),
  };
}

function line(name: string, c: UsageCounters): DigestLineJson {
  return { name, cost_usd: ticksToUsd(c.costTicks), total_tokens: c.totalTokens, requests: c.requests };
}

function byCost(groups: Record<string, UsageCounters>): DigestLineJson[] {
  return Object.entries(groups)
    .sort(([, a], [, b]) => b.costTicks - a.costTicks)
    .map(([name, c]) => line(name, c));
}
