import type { UserBudgetsJson } from '@flashcase/config';
import { HttpError, isUserId, requireUser, sendJson } from '@flashcase/telemetry';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { overrideJson, type SpendBudgets } from '../budgets/spend-budgets';

/** The largest budget an admin may set: its ticks stay exact integers in the store's scripts. */
const MAX_USD = 900_000;

const limitUsd = z
  .number()
  .min(0)
  .max(MAX_USD)
  .refine((usd) => Number.isInteger(Math.round(usd * 1e10)) && Math.abs(usd * 1e10 - Math.round(usd * 1e10)) < 1e-3, {
    message: 'at most 10 decimals',
  })
  .nullable();
const body = z.strictObject({ daily_usd: limitUsd.optional(), monthly_usd: limitUsd.optional() });

const toTicks = (usd: number | null | undefined) =>
  usd === null || usd === undefined ? undefined : Math.round(usd * 1e10);

function userIdOf(req: Request): string {
  const id = String(req.params.id ?? '');
  if (!isUserId(id)) {
    throw new HttpError(400, 'invalid_request', 'Invalid field id: a user id of 1 to 128 of A-Z a-z 0-9 . _ : @ | -', {
      details: { field: 'id' },
    });
  }
  return id;
}

export interface BudgetsRoutesDeps {
  budgets: SpendBudgets;
}

/**
 * `GET/PUT/DELETE /api/v1/ai/budgets/users/:id` (admin): a user's own daily and monthly spend
 * limits, in USD (null = the deployment's default), kept in the store; every replica applies a
 * change within 5 s.
 */
export function budgetsRoutes({ budgets }: BudgetsRoutesDeps): Router {
  const router = Router();
  const admin = requireUser({ admin: true });
  const answer = async (res: Response, userId: string) => {
    const [override, status] = await Promise.all([budgets.override(userId), budgets.status(userId)]);
    const json: UserBudgetsJson = { user_id: userId, ...overrideJson(override), budgets: status };
    sendJson(res, json, 200);
  };

  router.get('/api/v1/ai/budgets/users/:id', admin, async (req: Request, res: Response) => {
    await answer(res, userIdOf(req));
  });

  router.put('/api/v1/ai/budgets/users/:id', admin, async (req: Request, res: Response) => {
    const userId = userIdOf(req);
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.length ? issue.path.join('.') : 'body';
      throw new HttpError(400, 'invalid_request', `Invalid field ${field}: ${issue?.message ?? 'invalid'}`, {
        details: { field },
      });
    }
    // PUT replaces: a field left out is the default again
    await budgets.setOverride(userId, {
      dailyTicks: toTicks(parsed.data.daily_usd),
      monthlyTicks: toTicks(parsed.data.monthly_usd),
    });
    await answer(res, userId);
  });

  router.delete('/api/v1/ai/budgets/users/:id', admin, async (req: Request, res: Response) => {
    const userId = userIdOf(req);
    await budgets.setOverride(userId, {});
    await answer(res, userId);
  });

  return router;
}
