// The dashboard in Debian's Chromium (playwright-core, headless, loopback only), against a real
// gateway and ai-proxy started as production starts them, on a real Redis.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type {
  BudgetJson,
  PerActiveUserJson,
  PricingCheckWindowJson,
  UsageCountersJson,
  UsageJson,
  UsageTimeseriesJson,
} from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, type ServiceProcess, startService } from '@flashcase/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../src/routes/dashboard';
import { signDevToken } from '../helpers/dev-token';
import { API_KEY, INTERNAL_TOKEN, JWT_SECRET, REDIS_URL } from '../helpers/harness';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '../../test-artifacts');
const TOKEN_KEY = 'flashcase.dashboard.token';
const MONTHLY_BUDGET_USD = 5;
/** student-0's own daily budget, set through the API: its top-spenders row shows the use of it. */
const STUDENT0_DAILY_USD = 0.05;

/** What alerting answers (contract section 6): one firing critical and one pending warning alert. */
const ALERTS = {
  alerts: [
    {
      name: 'ElevatedTokenUsage',
      severity: 'warning',
      state: 'pending',
      value: 61_000,
      threshold: 50_000,
      labels: {},
      started_at: new Date(Date.now() - 40_000).toISOString(),
      resolved_at: null,
      summary: 'AI token usage in the last hour is above the warning level',
      runbook_url: 'docs/runbook.md#elevatedtokenusage',
    },
    {
      name: 'HighErrorRate',
      severity: 'critical',
      state: 'firing',
      value: 0.08,
      threshold: 0.05,
      labels: {},
      started_at: new Date(Date.now() - 300_000).toISOString(),
      resolved_at: null,
      summary: '8% of gateway responses are 5xx over 5 minutes',
      runbook_url: 'docs/runbook.md#higherrorrate',
    },
  ],
};

const ZERO: UsageCountersJson = {
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  reasoning_tokens: 0,
  cached_prompt_tokens: 0,
  requests: 0,
  estimated_cost_usd: 0,
};

const DAY_MS = 86_400_000;

/**
 * The deployment's monthly budget as ai-proxy answers it. The month is a 30-day one (`2026-11`) that
 * resets in exactly 15 days, so the page's share of the month gone is 50 % whatever the date.
 */
function monthlyBudget(limit: number | null, spent: number, held: number): BudgetJson {
  return {
    budget: 'monthly_usd',
    limit_usd: limit,
    source: 'default',
    spent_usd: spent,
    held_usd: held,
    remaining_usd: limit === null ? null : Math.max(0, limit - spent - held),
    resets_at: new Date(Date.now() + 15 * DAY_MS).toISOString(),
  };
}

const PER_ACTIVE_USER: PerActiveUserJson = {
  month: '2026-11',
  active_users: 12,
  cost_usd: 4.5,
  cost_per_active_user_usd: 0.375,
  projected_month_cost_usd: 9,
  projected_cost_per_active_user_usd: 0.75,
};

/** One user of the reports route, with the fields ai-proxy answers. */
function reportUser(
  id: string,
  cost: number,
  tokens: number,
  budget: { budget: 'user_daily_usd'; limit_usd: number | null; spent_usd: number; used_ratio: number | null } | null,
) {
  return {
    user_id: id,
    prompt_tokens: tokens - Math.floor(tokens / 4),
    completion_tokens: Math.floor(tokens / 4),
    reasoning_tokens: 0,
    cached_prompt_tokens: 0,
    total_tokens: tokens,
    requests: Math.ceil(tokens / 1000),
    errors: 0,
    estimated_cost_usd: cost,
    budget,
  };
}

/** Today's top ten: one past its daily budget, one near it, one with no limit, the rest well within. */
function controlledSpenders() {
  const daily = (limit: number | null, spent: number) => ({
    budget: 'user_daily_usd' as const,
    limit_usd: limit,
    spent_usd: spent,
    used_ratio: limit === null ? null : spent / limit,
  });
  return {
    period: 'day' as const,
    since: new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS).toISOString(),
    sort: 'cost' as const,
    users: [
      reportUser('heavy@school.example', 2, 41_000, daily(2, 2)),
      reportUser('student-17', 1.7, 30_500, daily(2, 1.7)),
      reportUser('teacher-3', 1.25, 22_000, daily(null, 1.25)),
      ...Array.from({ length: 7 }, (_, i) =>
        reportUser(`student-${i + 20}`, 0.5 - i * 0.05, 9_000 - i * 500, daily(2, 0.5 - i * 0.05)),
      ),
    ],
  };
}

/**
 * A usage answer the test writes itself (typed as ai-proxy builds it, so a renamed field fails to
 * compile here), for the figures real traffic cannot set at will: grok-4 reasons and reads a quarter
 * of its prompt from the cache; grok-3's two calls failed upstream, so it has no prompt to share.
 */
function controlledUsage(last24h: PricingCheckWindowJson): UsageJson {
  const grok4: UsageCountersJson = {
    prompt_tokens: 12_000,
    completion_tokens: 4_000,
    total_tokens: 16_000,
    reasoning_tokens: 1_500,
    cached_prompt_tokens: 3_000,
    requests: 40,
    estimated_cost_usd: 0.0948,
  };
  const grok3: UsageCountersJson = { ...ZERO, requests: 2 };
  return {
    usage: {
      total_prompt_tokens: 12_000,
      total_completion_tokens: 4_000,
      total_tokens: 16_000,
      total_requests: 42,
      total_reasoning_tokens: 1_500,
      total_cached_prompt_tokens: 3_000,
    },
    estimated_cost_usd: 0.0948,
    last_hour: {
      prompt_tokens: 2_000,
      completion_tokens: 800,
      total_tokens: 2_800,
      reasoning_tokens: 300,
      cached_prompt_tokens: 1_000,
      requests: 6,
      estimated_cost_usd: 0.0165,
    },
    by_operation: { chat: { ...grok4, requests: 30 }, rewrite: { ...grok3, requests: 12 } },
    by_model: { 'grok-3': grok3, 'grok-4': grok4 },
    projection: { hourly_usd: 0.0165, daily_usd: 0.396, monthly_usd: 11.88 },
    since: new Date(Date.now() - 3_600_000).toISOString(),
    alert_threshold: 100_000,
    alert_triggered: false,
    cost_control: {
      model: 'grok-4',
      default_temperature: 0.7,
      max_tokens: { chat: 1_000, rewrite: 800, autocomplete: 60 },
    },
    rate_limits: { ai_per_minute: 5, ai_per_hour: 100, general_per_minute: 60, general_per_hour: 1_000 },
    pricing_check: { ...last24h, last_24h: last24h },
    budgets: [monthlyBudget(20, 4.5, 0.5)],
    per_active_user: PER_ACTIVE_USER,
    budget_soft_ratio: 0.8,
    users_near_budget: [],
  };
}

/** Before the first call: nothing counted, no prompt to share, no bill to check against. */
function freshUsage(): UsageJson {
  const fresh = controlledUsage({ calls_billed: 0, billed_usd: 0, priced_usd: 0, drift_ratio: 0 });
  return {
    ...fresh,
    usage: {
      total_prompt_tokens: 0,
      total_completion_tokens: 0,
      total_tokens: 0,
      total_requests: 0,
      total_reasoning_tokens: 0,
      total_cached_prompt_tokens: 0,
    },
    estimated_cost_usd: 0,
    last_hour: ZERO,
    by_operation: {},
    by_model: {},
    projection: { hourly_usd: 0, daily_usd: 0, monthly_usd: 0 },
    since: null,
    budgets: [monthlyBudget(null, 0, 0)],
    per_active_user: {
      ...PER_ACTIVE_USER,
      active_users: 0,
      cost_usd: 0,
      cost_per_active_user_usd: null,
      projected_month_cost_usd: 0,
      projected_cost_per_active_user_usd: null,
    },
  };
}

/** Three minutes of tokens: the busiest (1,500) is mostly reasoning, the first reads a cached prompt. */
function controlledSeries(): UsageTimeseriesJson {
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const point = (ago: number, prompt: number, completion: number, reasoning: number, cached: number) => ({
    timestamp: new Date(minute - ago * 60_000).toISOString(),
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    reasoning_tokens: reasoning,
    cached_prompt_tokens: cached,
    requests: 2,
    errors: 0,
    cost_usd: 0.001,
  });
  return {
    window_s: 3600,
    step_s: 60,
    points: [point(3, 1_000, 400, 150, 250), point(2, 600, 900, 500, 0), point(1, 400, 100, 0, 0)],
  };
}

/**
 * What the page callbacks read. This package compiles without the DOM library (it is a server), so
 * callbacks run in the browser are typed by hand. (Not strings: `waitForFunction` evaluates a string
 * with `new Function`, which the page's own policy, no 'unsafe-eval', rightly refuses.)
 */
interface Dom {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
interface Win {
  document: { body: Dom; getElementById(id: string): Dom | null };
}

function resolve(source: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, part) => (value as Record<string, unknown>)?.[part], source);
}

describe('the dashboard page in Chromium', () => {
  const prefix = `flashcase-test:dashboard:${process.pid}:`;
  let fake: FakeOpenAI;
  let alerting: Server;
  let aiProxy: ServiceProcess;
  let gateway: ServiceProcess;
  // A second gateway whose ai-proxy and alerting are one loopback stand-in serving `served`.
  let standIn: Server;
  let served: { usage: UsageJson; series: UsageTimeseriesJson; spenders: ReturnType<typeof controlledSpenders> };
  let controlled: ServiceProcess;
  let browser: Browser;
  const admin = signDevToken(JWT_SECRET, 'ops', 'admin', 600);

  const api = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${gateway.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (./flashcase test installs it)`);
    }
    fake = await startFakeOpenAI({ apiKey: API_KEY });
    alerting = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url?.startsWith('/api/v1/alerts') ? ALERTS : { status: 'healthy' }));
    });
    await new Promise<void>((done) => alerting.listen(0, '127.0.0.1', done));
    const shared = { REDIS_URL, REDIS_KEY_PREFIX: prefix, INTERNAL_TOKEN, JWT_SECRET };
    // Generous start-up time: a full `pnpm test` runs every package's suite at once on few cores.
    const timeoutMs = 60_000;
    aiProxy = await startService(
      'ai-proxy',
      // A monthly budget for the deployment (the burn panel), far above what this traffic spends.
      { ...shared, XAI_API_KEY: API_KEY, XAI_BASE_URL: fake.url, AI_BUDGET_USD_PER_MONTH: String(MONTHLY_BUDGET_USD) },
      { timeoutMs },
    );
    gateway = await startService(
      'gateway',
      {
        ...shared,
        AI_PROXY_URL: aiProxy.base,
        ALERTING_URL: `http://127.0.0.1:${(alerting.address() as AddressInfo).port}`,
      },
      { timeoutMs },
    );
    served = {
      usage: controlledUsage({ calls_billed: 25, billed_usd: 0.5, priced_usd: 0.54, drift_ratio: 0.08 }),
      series: controlledSeries(),
      spenders: controlledSpenders(),
    };
    standIn = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
      const body =
        path === '/api/v1/ai/usage'
          ? served.usage
          : path === '/api/v1/ai/usage/timeseries'
            ? served.series
            : path === '/api/v1/ai/usage/users'
              ? served.spenders
              : path === '/api/v1/alerts'
                ? { alerts: [] }
                : undefined;
      res.statusCode = body === undefined ? 404 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body ?? { error: { code: 'not_found', message: `no ${path} here` } }));
    });
    await new Promise<void>((done) => standIn.listen(0, '127.0.0.1', done));
    const standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
    controlled = await startService(
      'gateway',
      { ...shared, AI_PROXY_URL: standInUrl, ALERTING_URL: standInUrl },
      { timeoutMs },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });

    // One user with a daily budget of their own (the other users have no daily limit).
    const override = await api('/api/v1/ai/budgets/users/student-0', admin, {
      method: 'PUT',
      body: JSON.stringify({ daily_usd: STUDENT0_DAILY_USD }),
    });
    expect(override.status).toBe(200);
    await override.arrayBuffer();

    // Mixed traffic: the three operations and the OpenAI route, streamed and not, several users.
    const calls: [string, object][] = [
      ['chat', { messages: [{ role: 'user', content: 'What is ATP?' }] }],
      ['chat', { messages: [{ role: 'user', content: 'Explain osmosis' }], stream: true }],
      ['rewrite', { text: 'Mitochondria is powerhouse', instruction: 'fix grammar' }],
      ['rewrite', { text: 'The cell wall is rigid', stream: true }],
      ['autocomplete', { text: 'Photosynthesis converts' }],
      ['autocomplete', { text: 'DNA replication is', stream: true }],
      ['chat/completions', { model: 'grok-4-fast', messages: [{ role: 'user', content: 'Quiz me' }] }],
    ];
    for (const [i, [operation, body]] of calls.entries()) {
      const res = await api(`/api/v1/ai/${operation}`, signDevToken(JWT_SECRET, `student-${i % 3}`, 'user', 600), {
        method: 'POST',
        body: JSON.stringify(body),
      });
      expect(res.status, operation).toBe(200);
      await res.arrayBuffer();
    }
    // Two upstream failures (502 from ai-proxy: the AI and gateway error rates move).
    fake.setBehavior({ kind: 'status', status: 500 });
    for (let i = 0; i < 2; i++) {
      const res = await api('/api/v1/ai/chat', signDevToken(JWT_SECRET, 'unlucky', 'user', 600), {
        method: 'POST',
        body: JSON.stringify({ messages: [{ role: 'user', content: 'hello?' }] }),
      });
      expect(res.status).toBe(502);
    }
    fake.setBehavior({ kind: 'ok' });
    // One user past the AI limit (5 a minute): two 429s.
    const burst = signDevToken(JWT_SECRET, 'eager', 'user', 600);
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      const res = await api('/api/v1/ai/autocomplete', burst, { method: 'POST', body: '{"text":"The heart"}' });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
    // The gateway writes its request stats once a second.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const stats = (await (await api('/api/v1/internal/stats?window_s=300', admin)).json()) as {
        rate_limited: number;
      };
      if (stats.rate_limited === 2) break;
      if (Date.now() > deadline) throw new Error(`the gateway stats never showed the 429s: ${JSON.stringify(stats)}`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await controlled?.stop();
    // (A server that never started, or is closed already, calls back with an error: still done.)
    standIn?.closeAllConnections();
    if (standIn) await new Promise((done) => standIn.close(done));
    await gateway?.stop();
    await aiProxy?.stop();
    await fake?.close();
    alerting?.closeAllConnections();
    if (alerting) await new Promise((done) => alerting.close(done));
    await deleteKeys(REDIS_URL, prefix);
  });

  async function open(token?: string, base = gateway.base): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
    if (token) {
      // A token already in the tab's storage, as after an earlier visit.
      await page.addInitScript(`sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(token)})`);
    }
    // Polls every second (`?refresh=1`) so the test waits less than a person would.
    const answer = await page.goto(`${base}/dashboard?refresh=1`);
    expect(answer?.status()).toBe(200);
    expect(answer?.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
    return { page, errors };
  }

  const polls = async (page: Page) => Number(await page.evaluate('document.body.dataset.polls'));
  const pollsAbove = (page: Page, n: number) =>
    page.waitForFunction((seen) => Number((globalThis as unknown as Win).document.body.dataset.polls) > seen, n, {
      timeout: 15_000,
    });
  const storedToken = (page: Page) => page.evaluate(`sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)})`);

  let live: { page: Page; errors: string[] };

  it('asks for a token, then draws every chart and shows the numbers of /api/v1/ai/usage, with no console error', async () => {
    live = await open();
    const { page, errors } = live;
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', admin);
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(
      () => Number((globalThis as unknown as Win).document.body.dataset.polls) >= 2,
      undefined,
      {
        timeout: 20_000,
      },
    );
    expect(await storedToken(page)).toBe(admin);
    expect(await page.getAttribute('body', 'data-state')).toBe('live');
    expect(await page.textContent('#status')).toContain('every 1 s');

    // Each chart drew data: positions with a value, and something above zero.
    const charts = await page.$$eval('[data-chart]', (els) =>
      els.map((el) => ({
        chart: (el as unknown as Dom).dataset.chart,
        points: Number((el as unknown as Dom).dataset.points),
        max: Number((el as unknown as Dom).dataset.max),
      })),
    );
    expect(charts.map((c) => c.chart).sort()).toEqual(['cost', 'errors', 'latency', 'limited', 'requests', 'tokens']);
    for (const chart of charts) {
      expect(chart.points, chart.chart).toBeGreaterThan(0);
      expect(chart.max, chart.chart).toBeGreaterThan(0);
    }
    // The stacked token bars top out at the busiest minute's prompt + completion.
    const series = (await (
      await api('/api/v1/ai/usage/timeseries?window=1h&step=60', admin)
    ).json()) as UsageTimeseriesJson;
    expect(charts.find((c) => c.chart === 'tokens')?.max).toBe(Math.max(...series.points.map((p) => p.total_tokens)));
    // Its three layers: everything (reasoning on top), without the reasoning, the prompt alone.
    const top = (f: (p: UsageTimeseriesJson['points'][number]) => number) => Math.max(0, ...series.points.map(f));
    expect(await page.getAttribute('#chart-tokens', 'data-maxes')).toBe(
      [
        top((p) => p.prompt_tokens + p.completion_tokens),
        top((p) => p.prompt_tokens + p.completion_tokens - p.reasoning_tokens),
        top((p) => p.prompt_tokens),
      ].join(','),
    );
    expect(charts.find((c) => c.chart === 'requests')?.max).toBe(Math.max(...series.points.map((p) => p.requests)));
    expect(charts.find((c) => c.chart === 'limited')?.max).toBe(2);

    // The figures equal the usage endpoint (no traffic since the page's last poll).
    const usage = (await (await api('/api/v1/ai/usage', admin)).json()) as UsageJson;
    const fields = await page.$$eval('[data-field]', (els) =>
      els.map((el) => ({
        field: (el as unknown as Dom).dataset.field as string,
        value: Number((el as unknown as Dom).dataset.value),
        text: el.textContent ?? '',
      })),
    );
    expect(fields.length).toBeGreaterThanOrEqual(10);
    for (const { field, value, text } of fields) {
      const expected = resolve(usage, field);
      expect(value, field).toBe(expected);
      // What is shown is that number, to the decimals shown.
      const shown = text.replace(/[$,]/g, '');
      const decimals = /\.(\d+)$/.exec(shown)?.[1]?.length ?? 0;
      expect(Math.abs(Number(shown) - (expected as number)), `${field} shown as ${text}`).toBeLessThanOrEqual(
        0.5 * 10 ** -decimals + 1e-12,
      );
    }
    // 7 answered, 2 failed upstream (counted), 5 of the burst; the 429s never reached upstream.
    expect(usage.usage.total_requests).toBe(14);
    // The shares are the answer's own counters divided, the drift its own ratio.
    const { total_cached_prompt_tokens: cached, total_prompt_tokens: prompt } = usage.usage;
    expect(Number(await page.getAttribute('#cached-share', 'data-value'))).toBe(cached / prompt);
    const check = usage.pricing_check.last_24h;
    expect(Number(await page.getAttribute('#pricing-calls', 'data-value'))).toBe(check.calls_billed);
    expect(await page.getAttribute('#pricing-drift', 'data-value')).toBe(
      check.calls_billed > 0 ? String(check.drift_ratio) : null,
    );
    for (const [table, group] of [
      ['#table-operation', usage.by_operation],
      ['#table-model', usage.by_model],
    ] as const) {
      const rows = await page.$$eval(`${table} tbody tr`, (trs) =>
        trs.map((tr) => ({
          key: (tr as unknown as Dom).dataset.key as string,
          cells: Object.fromEntries(
            [...tr.querySelectorAll('td')].map((td) => [td.dataset.col, Number(td.dataset.value)]),
          ),
        })),
      );
      expect(rows.map((r) => r.key)).toEqual(Object.keys(group).sort());
      for (const row of rows) expect(row.cells, row.key).toEqual(group[row.key]);
    }

    // Top spenders today: the reports route's users in its order, each cell its number.
    const report = (await (await api('/api/v1/ai/usage/users?period=day&sort=cost&limit=10', admin)).json()) as {
      users: {
        user_id: string;
        requests: number;
        total_tokens: number;
        estimated_cost_usd: number;
        budget: { limit_usd: number | null; used_ratio: number | null } | null;
      }[];
    };
    const spenders = await page.$$eval('#table-spenders tbody tr', (trs) =>
      trs.map((tr) => ({
        key: (tr as unknown as Dom).dataset.key as string,
        values: Object.fromEntries(
          [...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.dataset.value ?? null]),
        ),
        texts: Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent])),
      })),
    );
    // student-0..2 and eager spent; unlucky's two failed calls cost nothing, so they rank nowhere.
    expect(report.users.map((u) => u.user_id).sort()).toEqual(['eager', 'student-0', 'student-1', 'student-2']);
    expect(spenders.map((r) => r.key)).toEqual(report.users.map((u) => u.user_id));
    for (const [i, user] of report.users.entries()) {
      const row = spenders[i];
      expect(row?.values, user.user_id).toEqual({
        requests: String(user.requests),
        total_tokens: String(user.total_tokens),
        estimated_cost_usd: String(user.estimated_cost_usd),
        limit_usd: user.budget?.limit_usd == null ? null : String(user.budget.limit_usd),
        used_ratio: user.budget?.used_ratio == null ? null : String(user.budget.used_ratio),
      });
      expect(user.estimated_cost_usd).toBeGreaterThan(0);
    }
    const student0 = report.users.find((u) => u.user_id === 'student-0');
    expect(student0?.budget?.limit_usd).toBe(STUDENT0_DAILY_USD);
    expect(student0?.budget?.used_ratio).toBeGreaterThan(0);
    const student0Row = spenders.find((r) => r.key === 'student-0');
    expect(student0Row?.texts.limit_usd).toBe('$0.0500/day');
    expect(student0Row?.texts.used_ratio).toMatch(/^\d+\.\d+%$/);
    // The others have no daily limit: spend counted, no share of a budget to show.
    expect(spenders.find((r) => r.key === 'eager')?.texts).toMatchObject({ limit_usd: 'none', used_ratio: 'no limit' });

    // The monthly budget against the calendar: what the budget counted of its limit, and the month gone.
    const monthly = usage.budgets.find((b) => b.budget === 'monthly_usd');
    expect(monthly?.limit_usd).toBe(MONTHLY_BUDGET_USD);
    expect(monthly?.spent_usd).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#budget-spent', 'data-value'))).toBe(monthly?.spent_usd);
    expect(await page.textContent('#budget-limit')).toBe('of $5.00');
    expect(Number(await page.getAttribute('#budget-used', 'data-value'))).toBe(
      ((monthly?.spent_usd ?? 0) + (monthly?.held_usd ?? 0)) / MONTHLY_BUDGET_USD,
    );
    // The month began its number of days before the reset (UTC here: no daylight-saving hour).
    const [year, month] = usage.per_active_user.month.split('-').map(Number) as [number, number];
    const monthMs = new Date(Date.UTC(year, month, 0)).getUTCDate() * 86_400_000;
    const elapsed = 1 - (Date.parse(monthly?.resets_at ?? '') - Date.now()) / monthMs;
    expect(Number(await page.getAttribute('#month-elapsed', 'data-value'))).toBeCloseTo(elapsed, 4);
    // Cost per active user: this month's figures of the usage answer (4 users spent, unlucky called).
    expect(usage.per_active_user.active_users).toBe(5);
    expect(Number(await page.getAttribute('#per-user-cost', 'data-value'))).toBe(
      usage.per_active_user.cost_per_active_user_usd,
    );
    // The projections scale this month's cost by the share of it gone: a poll a moment earlier.
    const projected = (id: string) => page.getAttribute(id, 'data-value').then(Number);
    const { projected_cost_per_active_user_usd: perUserMonth, projected_month_cost_usd: wholeMonth } =
      usage.per_active_user;
    expect(Math.abs((await projected('#per-user-projected')) / (perUserMonth ?? 0) - 1)).toBeLessThan(1e-3);
    expect(Math.abs((await projected('#per-user-projected-month')) / wholeMonth - 1)).toBeLessThan(1e-3);

    // Gateway figures equal the stats endpoint; the alerts come with their severity.
    const stats = (await (await api('/api/v1/internal/stats?window_s=300', admin)).json()) as {
      rate_limited: number;
      error_rate: number;
    };
    expect(Number(await page.getAttribute('#rate-limited', 'data-value'))).toBe(stats.rate_limited);
    expect(Number(await page.getAttribute('#error-rate', 'data-value'))).toBe(stats.error_rate);
    const alerts = await page.$$eval('#alerts li', (lis) =>
      lis.map((li) => [(li as unknown as Dom).dataset.name, (li as unknown as Dom).dataset.severity, li.textContent]),
    );
    expect(alerts.map(([name, severity]) => [name, severity])).toEqual([
      ['HighErrorRate', 'critical'],
      ['ElevatedTokenUsage', 'warning'],
    ]);
    expect(await page.textContent('#alerts-count')).toBe('1 firing · 1 pending');

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    // A smaller laptop screen: everything still fits across, nothing scrolls sideways.
    await page.setViewportSize({ width: 1280, height: 800 });
    const widths = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document;
      return root.documentElement.scrollWidth;
    });
    expect(widths).toBeLessThanOrEqual(1280);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1280x800.png') });
    await page.setViewportSize({ width: 1440, height: 900 });
    expect(errors).toEqual([]);
  }, 60_000);

  it('keeps no layout jumps between polls: every panel keeps its box', async () => {
    const { page } = live;
    const boxes = () =>
      page.$$eval('.kpi, .panel, .plot, .scroll', (els) =>
        els.map((el) => {
          const r = el.getBoundingClientRect();
          return [r.x, r.y, r.width, r.height].map(Math.round).join(',');
        }),
      );
    const before = await boxes();
    const seen = await polls(page);
    // New data arrives in between.
    await api('/api/v1/ai/chat', signDevToken(JWT_SECRET, 'late-student', 'user', 600), {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'one more card' }] }),
    });
    await pollsAbove(page, seen);
    expect(await page.getAttribute('[data-field="usage.total_requests"]', 'data-value')).toBe('15');
    expect(await boxes()).toEqual(before);
  }, 30_000);

  it('shows the reasoning tokens, the cached prompt share and the pricing drift of a usage answer, warning as PricingTableDrift would', async () => {
    const { page, errors } = await open(admin, controlled.base);
    await pollsAbove(page, 0);
    const text = (selector: string) => page.textContent(selector);
    expect(await page.getAttribute('body', 'data-state')).toBe('live');
    expect(await text('[data-field="usage.total_reasoning_tokens"]')).toBe('1,500');
    expect(await text('[data-field="last_hour.reasoning_tokens"]')).toBe('300');
    expect(await text('#reasoning-share')).toBe('37.5% of output');
    expect(await text('#cached-share')).toBe('25.0%');
    expect(await text('#cached-share-hour')).toBe('50.0%');
    expect(await text('[data-field="usage.total_cached_prompt_tokens"]')).toBe('3,000');
    expect(await text('[data-field="pricing_check.last_24h.billed_usd"]')).toBe('$0.5000');
    expect(await text('[data-field="pricing_check.last_24h.priced_usd"]')).toBe('$0.5400');
    // Per model: grok-4's reasoning and cached share; grok-3 answered nothing, so it has no share.
    const cells = (model: string) =>
      page.$$eval(`#table-model tr[data-key="${model}"] td`, (tds) =>
        Object.fromEntries(tds.map((td) => [(td as unknown as Dom).dataset.col, td.textContent])),
      );
    expect(await cells('grok-4')).toMatchObject({ reasoning_tokens: '1,500', cached_prompt_tokens: '25.0%' });
    expect(await cells('grok-3')).toMatchObject({ reasoning_tokens: '0', cached_prompt_tokens: '—' });
    // The token chart stacks prompt, visible completion and reasoning: 1,500 at most, 1,250 without
    // reasoning, 1,000 of prompt; its note sums the hour.
    expect(await page.getAttribute('#chart-tokens', 'data-maxes')).toBe('1500,1250,1000');
    expect(await text('#note-tokens')).toBe('650 reasoning · 12.5% of prompt cached, last hour');

    // Today's top spenders, most spent first: ten rows that fit their box (no scrolling, no shift).
    const spenders = () =>
      page.$$eval('#table-spenders tbody tr', (trs) =>
        trs.map((tr) => [
          (tr as unknown as Dom).dataset.key,
          ...[...tr.querySelectorAll('td')].map((td) => td.textContent),
          (tr.querySelector('.use') as unknown as Dom | null)?.dataset.tone,
        ]),
      );
    const rows = await spenders();
    expect(rows).toHaveLength(10);
    expect(rows.slice(0, 4)).toEqual([
      ['heavy@school.example', '41', '41,000', '$2.00', '$2.00/day', '100.0%', 'problem'],
      ['student-17', '31', '30,500', '$1.70', '$2.00/day', '85.0%', 'warning'],
      ['teacher-3', '22', '22,000', '$1.25', 'none', 'no limit', 'none'],
      ['student-20', '9', '9,000', '$0.5000', '$2.00/day', '25.0%', 'none'],
    ]);
    const box = await page.$eval('#box-spenders', (el) => [el.scrollHeight, el.clientHeight]);
    expect(box[0]).toBeLessThanOrEqual(box[1] as number);
    expect(await text('#spenders-legend')).toMatch(/^by cost · since /);

    // The monthly budget: $4.50 spent and $0.50 held of $20 is 25 %, half the month gone, on pace for $9.
    expect(await text('#budget-spent')).toBe('$4.50');
    expect(await text('#budget-limit')).toBe('of $20.00');
    expect(await text('#budget-used')).toBe('25.0%');
    expect(await text('#month-elapsed')).toBe('50.0%');
    expect(await text('#budget-pace')).toBe('on pace for $9.00, 45.0% of the budget · $0.5000 held');
    expect(await text('#budget-reset')).toMatch(/^resets \d{1,2} \w{3} \d{2}:\d{2}/);
    expect(await page.getAttribute('#panel-budget', 'data-tone')).toBe('none');
    // Cost per active user, this month and projected to its end.
    expect(await text('#per-user-cost')).toBe('$0.3750');
    expect(await text('#per-user-projected')).toBe('$0.7500');
    expect(await text('[data-field="per_active_user.active_users"]')).toBe('12');
    expect(await text('[data-field="per_active_user.cost_usd"]')).toBe('$4.50');
    expect(await text('#per-user-projected-month')).toBe('$9.00');
    expect(await text('#per-user-legend')).toBe('2026-11');

    // The drift, signed, with its billed calls; highlighted only past 5 % with at least 20 calls.
    const cases: [PricingCheckWindowJson, string, string, 'warning' | 'none'][] = [
      [
        { calls_billed: 25, billed_usd: 0.5, priced_usd: 0.54, drift_ratio: 0.08 },
        '+8.0%',
        '25 billed calls',
        'warning',
      ],
      [{ calls_billed: 19, billed_usd: 0.5, priced_usd: 0.54, drift_ratio: 0.08 }, '+8.0%', '19 billed calls', 'none'],
      [{ calls_billed: 40, billed_usd: 1, priced_usd: 0.95, drift_ratio: -0.05 }, '-5.0%', '40 billed calls', 'none'],
      [
        { calls_billed: 40, billed_usd: 1, priced_usd: 0.949, drift_ratio: -0.051 },
        '-5.1%',
        '40 billed calls',
        'warning',
      ],
      [{ calls_billed: 1, billed_usd: 0.02, priced_usd: 0.02, drift_ratio: 0 }, '0.0%', '1 billed call', 'none'],
    ];
    for (const [check, drift, calls, tone] of cases) {
      served.usage = controlledUsage(check);
      // Two polls: the first may have asked before the answer changed.
      await pollsAbove(page, (await polls(page)) + 1);
      const shown = `${check.calls_billed} calls at ${check.drift_ratio}`;
      expect(await text('#pricing-drift'), shown).toBe(drift);
      expect(await page.getAttribute('#pricing-drift', 'data-value'), shown).toBe(String(check.drift_ratio));
      expect(await text('#pricing-calls'), shown).toBe(calls);
      expect(await page.getAttribute('#kpi-pricing', 'data-tone'), shown).toBe(tone);
      if (check.drift_ratio === -0.051) {
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard-pricing-drift.png'), fullPage: true });
      }
    }

    // Spending ahead of the calendar is a warning; the budget used up, a problem.
    const burns: [BudgetJson, string, string, 'none' | 'warning' | 'problem'][] = [
      [monthlyBudget(20, 14, 0), '70.0%', 'on pace for $28.00, 140.0% of the budget', 'warning'],
      [monthlyBudget(20, 19.5, 0.5), '100.0%', 'on pace for $39.00, 195.0% of the budget · $0.5000 held', 'problem'],
    ];
    for (const [budget, used, pace, tone] of burns) {
      served.usage = {
        ...controlledUsage({ calls_billed: 0, billed_usd: 0, priced_usd: 0, drift_ratio: 0 }),
        budgets: [budget],
      };
      await pollsAbove(page, (await polls(page)) + 1);
      expect(await text('#budget-used'), `${budget.spent_usd} spent`).toBe(used);
      expect(await text('#budget-pace'), `${budget.spent_usd} spent`).toBe(pace);
      expect(await page.getAttribute('#panel-budget', 'data-tone'), `${budget.spent_usd} spent`).toBe(tone);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-spend.png'), fullPage: true });

    // Nothing counted yet: no share and no drift to show, rather than a made-up 0 %.
    served.usage = freshUsage();
    served.spenders = { ...controlledSpenders(), users: [] };
    await pollsAbove(page, (await polls(page)) + 1);
    expect(await text('#cached-share')).toBe('—');
    expect(await page.getAttribute('#cached-share', 'data-value')).toBeNull();
    expect(await text('#cached-share-hour')).toBe('—');
    expect(await text('#reasoning-share')).toBe('no output yet');
    expect(await text('#pricing-drift')).toBe('—');
    expect(await page.getAttribute('#pricing-drift', 'data-value')).toBeNull();
    expect(await text('#pricing-calls')).toBe('no billed calls');
    expect(await page.getAttribute('#kpi-pricing', 'data-tone')).toBe('none');
    // No monthly budget set, nobody active this month, nobody spent today.
    expect(await text('#budget-limit')).toBe('no monthly budget');
    expect(await text('#budget-spent')).toBe('$0.00');
    expect(await text('#budget-used')).toBe('—');
    expect(await text('#month-elapsed')).toBe('50.0%');
    expect(await text('#budget-pace')).toBe('set AI_BUDGET_USD_PER_MONTH to cap the month');
    expect(await text('#per-user-cost')).toBe('—');
    expect(await page.getAttribute('#per-user-cost', 'data-value')).toBeNull();
    expect(await text('#note-per-user')).toBe('No AI calls this month yet');
    expect(await spenders()).toEqual([]);
    expect(await page.getAttribute('#box-spenders', 'data-empty')).toBe('No AI spend today');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('says so when alerting is down and keeps every other panel live', async () => {
    const { page, errors } = live;
    alerting.closeAllConnections();
    await new Promise((done) => alerting.close(done));
    const seen = await polls(page);
    await pollsAbove(page, seen);
    expect(await page.textContent('#note-alerts')).toContain('Alerting unavailable (502');
    expect(await page.getAttribute('body', 'data-state')).toBe('partial');
    expect(await page.textContent('#status')).toContain('alerts (502)');
    // The last known alerts stay, dimmed; charts keep their data.
    expect(await page.$$eval('#alerts li', (lis) => lis.length)).toBe(2);
    expect(Number(await page.getAttribute('#chart-tokens', 'data-points'))).toBeGreaterThan(0);
    // The only console errors are the browser's own network lines for the 502s.
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatch(/status of 502/);
    await page.context().close();
  }, 30_000);

  it('asks for the token again with a message when it has expired, and forgets it', async () => {
    const { page } = await open(signDevToken(JWT_SECRET, 'ops', 'admin', -120));
    await page.waitForFunction(
      () => (globalThis as unknown as Win).document.body.dataset.state === 'login',
      undefined,
      {
        timeout: 15_000,
      },
    );
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.isHidden('#board')).toBe(true);
    expect(await page.textContent('#login-message')).toContain('expired');
    expect(await storedToken(page)).toBeNull();
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-expired-token.png') });

    // A valid token without the admin role is refused with its own message.
    await page.fill('#token', signDevToken(JWT_SECRET, 'student-0', 'user', 600));
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() =>
      /not an admin/.test((globalThis as unknown as Win).document.getElementById('login-message')?.textContent ?? ''),
    );
    expect(await page.getAttribute('body', 'data-state')).toBe('login');
    await page.context().close();
  }, 30_000);

  // Last: ai-proxy does not come back.
  it('says so in the spend panels when ai-proxy is down, keeping their last data dimmed and their boxes', async () => {
    const { page, errors } = await open(admin);
    await pollsAbove(page, 0);
    const rows = () =>
      page.$$eval('#table-spenders tbody tr', (trs) => trs.map((tr) => (tr as unknown as Dom).dataset.key));
    const shown = await rows();
    expect(shown.length).toBeGreaterThan(0);
    const spent = await page.textContent('#budget-spent');
    const perUser = await page.textContent('#per-user-cost');
    const boxes = () =>
      page.$$eval('#panel-spenders, #panel-budget, #panel-per-user, #box-spenders', (els) =>
        els.map((el) => {
          const r = el.getBoundingClientRect();
          return [r.x, r.y, r.width, r.height].map(Math.round).join(',');
        }),
      );
    const before = await boxes();

    await aiProxy.stop();
    await pollsAbove(page, await polls(page));
    await pollsAbove(page, await polls(page));
    for (const note of ['#note-spenders', '#note-budget', '#note-per-user']) {
      expect(await page.textContent(note), note).toMatch(/^ai-proxy unavailable \(502 /);
    }
    expect(await page.$$eval('.spend .panel.stale', (els) => els.length)).toBe(3);
    expect(await rows()).toEqual(shown);
    expect(await page.textContent('#budget-spent')).toBe(spent);
    expect(await page.textContent('#per-user-cost')).toBe(perUser);
    expect(await boxes()).toEqual(before);
    expect(await page.getAttribute('body', 'data-state')).toBe('partial');
    expect(await page.textContent('#status')).toContain('top spenders (502)');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-ai-proxy-down.png'), fullPage: true });
    for (const error of errors) expect(error).toMatch(/status of 502/);
    await page.context().close();
  }, 30_000);
});
