import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type UsageJson } from '@flashcase/config';
import { EmbeddedAlertStateStore } from '@flashcase/store';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Evaluator } from '../../src/engine/evaluator';
import { seedRules } from '../../src/rules/seed';
import { HttpSignalReader } from '../../src/signals/http-reader';
import { SignalError } from '../../src/signals/reader';
import { AlertRepository } from '../../src/state/repository';
import { RecordingNotifier } from '../helpers/engine';

const TOKEN = 'alerting-signals-test-token-0123456789';

const counters = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, requests: 0, estimated_cost_usd: 0 };
const detail = { reasoning_tokens: 0, cached_prompt_tokens: 0 };

/** ai-proxy's `GET /api/v1/ai/usage` answer, field for field (contract section 6). */
function usageJson(lastHourTokens: number, last24h: { calls_billed: number; drift_ratio: number }): UsageJson {
  const window = { billed_usd: 0.02, priced_usd: 0.02 * (1 + last24h.drift_ratio) };
  return {
    usage: {
      total_prompt_tokens: 0,
      total_completion_tokens: 0,
      total_tokens: lastHourTokens,
      total_requests: 0,
      total_reasoning_tokens: 0,
      total_cached_prompt_tokens: 0,
    },
    alert_threshold: 100_000,
    alert_triggered: false,
    cost_control: {
      model: 'grok-4-fast',
      default_temperature: 0.7,
      max_tokens: { chat: 2000, rewrite: 1000, autocomplete: 500 },
    },
    rate_limits: { ai_per_minute: 5, ai_per_hour: 50, general_per_minute: 10, general_per_hour: 100 },
    estimated_cost_usd: 0.02,
    pricing_check: { ...last24h, ...window, last_24h: { ...last24h, ...window } },
    last_hour: { ...counters, ...detail, total_tokens: lastHourTokens },
    by_operation: {},
    by_model: {},
    projection: { hourly_usd: 0, daily_usd: 0, monthly_usd: 0 },
    since: null,
    budgets: [
      {
        budget: 'monthly_usd',
        limit_usd: 500,
        source: 'default',
        spent_usd: 410,
        held_usd: 2.5,
        remaining_usd: 87.5,
        resets_at: '2026-02-01T00:00:00.000Z',
        refused_today: 0,
      },
    ],
    per_active_user: {
      month: '2026-01',
      active_users: 3,
      cost_usd: 410,
      cost_per_active_user_usd: 136.666667,
      projected_month_cost_usd: 1000,
      projected_cost_per_active_user_usd: 333.333333,
    },
    budget_soft_ratio: 0.8,
    users_near_budget: [
      { user_id: 'student-7', budget: 'user_daily_usd', used_ratio: 0.95 },
      { user_id: 'student-2', budget: 'user_monthly_usd', used_ratio: 0.81 },
    ],
  };
}

describe('HTTP signal reader against a loopback ai-proxy usage route', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string };
  const seen: IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  let reader: HttpSignalReader;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/api/v1/ai/usage') seen.push(req.headers);
      paths.push(req.url ?? '');
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    reader = new HttpSignalReader({ gatewayUrl: base, aiProxyUrl: base, internalToken: TOKEN, timeoutMs: 2_000 });
  });

  beforeEach(() => {
    seen.length = 0;
    answer = { status: 200, body: JSON.stringify(usageJson(1234, { calls_billed: 140, drift_ratio: -0.009 })) };
  });

  afterAll(async () => {
    await reader.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads last_hour.total_tokens and pricing_check.last_24h from one call, as the admin `alerting`', async () => {
    expect(await reader.aiUsage()).toEqual({
      tokensLastHour: 1234,
      pricingCheck24h: { callsBilled: 140, driftRatio: -0.009 },
      monthlyBudget: { spentUsd: 410, limitUsd: 500, refusedToday: 0 },
      usersNearBudget: [
        { userId: 'student-7', budget: 'user_daily_usd', usedRatio: 0.95 },
        { userId: 'student-2', budget: 'user_monthly_usd', usedRatio: 0.81 },
      ],
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      'x-internal-token': TOKEN,
      'x-flashcase-user-id': 'alerting',
      'x-flashcase-user-role': 'admin',
    });
  });

  it('still reads the tokens of an answer without pricing_check (an ai-proxy older than the check)', async () => {
    const { pricing_check: _dropped, ...older } = usageJson(99, { calls_billed: 0, drift_ratio: 0 });
    answer = { status: 200, body: JSON.stringify(older) };
    expect(await reader.aiUsage()).toMatchObject({ tokensLastHour: 99, pricingCheck24h: undefined });
    const malformed = { ...usageJson(99, { calls_billed: 1, drift_ratio: 0 }), pricing_check: { last_24h: 'n/a' } };
    answer = { status: 200, body: JSON.stringify(malformed) };
    expect(await reader.aiUsage()).toMatchObject({ tokensLastHour: 99, pricingCheck24h: undefined });
  });

  it('reads an answer without budget fields (an ai-proxy older than the budgets) as unknown, not as zero', async () => {
    const { budgets: _budgets, users_near_budget: _near, ...older } = usageJson(5, { calls_billed: 0, drift_ratio: 0 });
    answer = { status: 200, body: JSON.stringify(older) };
    expect(await reader.aiUsage()).toMatchObject({ monthlyBudget: undefined, usersNearBudget: undefined });
    const unlimited = usageJson(5, { calls_billed: 0, drift_ratio: 0 });
    unlimited.budgets = [{ ...(unlimited.budgets[0] as UsageJson['budgets'][number]), limit_usd: null }];
    answer = { status: 200, body: JSON.stringify(unlimited) };
    expect((await reader.aiUsage()).monthlyBudget).toEqual({ spentUsd: 410, limitUsd: null, refusedToday: 0 });
  });

  it("reads one user's used share of each budget from GET /api/v1/ai/budgets/users/:id", async () => {
    const status = (budget: string, limit: number | null, spent: number, held: number) => ({
      budget,
      limit_usd: limit,
      source: 'default',
      spent_usd: spent,
      held_usd: held,
      remaining_usd: null,
      resets_at: '2026-01-02T00:00:00.000Z',
    });
    answer = {
      status: 200,
      body: JSON.stringify({
        user_id: 'student 1',
        daily_usd: null,
        monthly_usd: null,
        budgets: [status('user_daily_usd', 2, 1.5, 0.1), status('user_monthly_usd', null, 3, 0)],
      }),
    };
    expect(await reader.userBudgets('student 1')).toEqual({ user_daily_usd: 0.8, user_monthly_usd: null });
    expect(paths.at(-1)).toBe('/api/v1/ai/budgets/users/student%201');
  });

  it('throws a SignalError naming the status on an error answer, and on one that is not JSON', async () => {
    answer = { status: 503, body: '{"error":{"code":"store_unavailable"}}' };
    await expect(reader.aiUsage()).rejects.toThrow(new SignalError('ai-proxy usage: HTTP 503'));
    answer = { status: 200, body: '<html>' };
    await expect(reader.aiUsage()).rejects.toThrow(SignalError);
  });

  it('is called once per evaluation of the seed rules, the token, pricing and budget rules sharing it', async () => {
    const now = { ms: Date.UTC(2026, 0, 1, 12, 0, 0) };
    const store = new EmbeddedAlertStateStore({ now: () => now.ms });
    const repository = new AlertRepository(store);
    answer = { status: 200, body: JSON.stringify(usageJson(10, { calls_billed: 50, drift_ratio: 0.2 })) };
    const evaluator = new Evaluator({
      rules: seedRules(loadConfig('alerting', { ENVIRONMENT: 'test' })).filter((r) => r.signal.startsWith('ai_')),
      repository,
      signals: reader,
      notifier: new RecordingNotifier(),
      timers: { groupWaitMs: 0, groupIntervalMs: 60_000, repeatIntervalMs: 3_600_000 },
      healthIntervalMs: 10_000,
      evalIntervalMs: 10_000,
      log: { info() {}, warn() {}, error() {}, debug() {} } as never,
    });
    await evaluator.evaluate(now.ms);
    now.ms += 15 * 60_000;
    const result = await evaluator.evaluate(now.ms);
    expect(seen).toHaveLength(2);
    expect(result.alerts.map((a) => [a.name, a.state, a.value, a.labels.user ?? '']).sort()).toEqual([
      ['MonthlyBudgetNearlySpent', 'firing', 0.82, ''],
      ['PricingTableDrift', 'firing', 0.2, ''],
      ['UserBudgetNearlySpent', 'firing', 0.81, 'student-2'],
      ['UserBudgetNearlySpent', 'firing', 0.95, 'student-7'],
    ]);
    await evaluator.idle();
    await store.close();
  });
});
