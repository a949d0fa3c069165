import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@flashcase/config';
import { EmbeddedAlertStateStore, openAlertStateStore } from '@flashcase/store';
import { createInstruments, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { seedRules } from '../src/rules/seed';
import type { AlertRecord } from '../src/state/records';
import { AlertRepository } from '../src/state/repository';

const TOKEN = 'alerting-api-test-token-0123456789';
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

async function listen(app: ReturnType<typeof createApp>): Promise<{ base: string; server: Server }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('alerting HTTP API', () => {
  const config = loadConfig('alerting', {
    ENVIRONMENT: 'test',
    INTERNAL_TOKEN: TOKEN,
    TOKEN_USAGE_ALERT_THRESHOLD: '5000',
  });
  const meters = testMeters();
  const store = new EmbeddedAlertStateStore({ now: () => NOW });
  const repository = new AlertRepository(store);
  let base: string;
  let server: Server;
  const internal = { 'x-internal-token': TOKEN };
  const admin = { ...internal, 'x-flashcase-user-id': 'ops', 'x-flashcase-user-role': 'admin' };
  const post = (body: unknown, headers: Record<string, string> = admin) =>
    fetch(`${base}/api/v1/alerts/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
    const app = createApp({
      config,
      repository,
      rules: seedRules(config),
      storeState: () => 'embedded',
      instruments: createInstruments(meters.meter),
      loopStatus: () => ({ role: 'leader', replica: 'test', last_evaluation_at: null }),
      now: () => NOW,
    });
    ({ base, server } = await listen(app));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await meters.shutdown();
  });

  it('answers health without the internal token, with the memory check and the evaluator role', async () => {
    const res = await fetch(`${base}/api/v1/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'healthy', database: 'embedded', checks: { evaluator: { role: 'leader' } } });
    expect((body.checks as { memory: { utilization: number } }).memory.utilization).toBeGreaterThan(0);
  });

  it('refuses every other route without the internal token (401) and a non-admin user (403)', async () => {
    const none = await fetch(`${base}/api/v1/alerts`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const user = await fetch(`${base}/api/v1/alerts`, {
      headers: { ...internal, 'x-flashcase-user-id': 'student', 'x-flashcase-user-role': 'user' },
    });
    expect(user.status).toBe(403);
    expect((await fetch(`${base}/api/v1/alerts`, { headers: internal })).status).toBe(200);
    expect((await fetch(`${base}/api/v1/alerts`, { headers: admin })).status).toBe(200);
    expect(
      (await post({ matchers: { name: 'X' }, duration_s: 60 }, { ...internal, 'x-flashcase-user-id': 'student' }))
        .status,
    ).toBe(403);
  });

  it("lists alerts in the contract's shape, firing first", async () => {
    const record: Omit<AlertRecord, 'fingerprint' | 'name' | 'state'> = {
      severity: 'critical',
      signal: 'ai_tokens_last_hour',
      labels: {},
      value: 6000,
      threshold: 5000,
      resolveThreshold: 4500,
      startedAtMs: NOW - 60_000,
      evaluatedAtMs: NOW,
      summary: 'AI token usage is high',
      runbookUrl: 'docs/runbook.md#hightokenusage',
    };
    await repository.putAlert(
      {
        ...record,
        fingerprint: 'old:1',
        name: 'HighTokenUsage',
        state: 'resolved',
        resolvedAtMs: NOW - 1000,
        firedAtMs: NOW - 50_000,
      },
      NOW,
    );
    await repository.putAlert(
      {
        ...record,
        fingerprint: 'now:1',
        name: 'HighTokenUsage',
        state: 'firing',
        firedAtMs: NOW - 30_000,
        startedAtMs: NOW - 40_000,
      },
      NOW,
    );
    const res = await fetch(`${base}/api/v1/alerts`, { headers: admin });
    const { alerts } = (await res.json()) as { alerts: Array<Record<string, unknown>> };
    expect(alerts.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(alerts[0]).toMatchObject({
      name: 'HighTokenUsage',
      severity: 'critical',
      state: 'firing',
      value: 6000,
      threshold: 5000,
      labels: {},
      started_at: new Date(NOW - 40_000).toISOString(),
      resolved_at: null,
      summary: 'AI token usage is high',
      runbook_url: 'docs/runbook.md#hightokenusage',
    });
    expect(alerts[1]?.resolved_at).toBe(new Date(NOW - 1000).toISOString());
    const firing = await fetch(`${base}/api/v1/alerts?state=firing`, { headers: admin });
    expect(((await firing.json()) as { alerts: unknown[] }).alerts).toHaveLength(1);
    expect((await fetch(`${base}/api/v1/alerts?state=bogus`, { headers: admin })).status).toBe(400);
  });

  it('lists the rules, the seed seven, PricingTableDrift and the budget alerts by default with thresholds from the config', async () => {
    const res = await fetch(`${base}/api/v1/alerts/rules`, { headers: internal });
    const { rules } = (await res.json()) as { rules: Array<Record<string, unknown>> };
    expect(rules.map((r) => r.name)).toEqual([
      'HighTokenUsage',
      'HighErrorRate',
      'ServiceDown',
      'HighResponseTime',
      'ElevatedTokenUsage',
      'IncreasedErrorRate',
      'HighMemoryUsage',
      'PricingTableDrift',
      'UserBudgetNearlySpent',
      'MonthlyBudgetNearlySpent',
      'MonthlyBudgetExhausted',
    ]);
    expect(rules[8]).toMatchObject({ severity: 'warning', signal: 'ai_user_budget_ratio', threshold: 0.8 });
    expect(rules[0]).toMatchObject({ severity: 'critical', threshold: 5000, resolve_threshold: 4500 });
    expect(rules[4]).toMatchObject({ severity: 'warning', threshold: 2500 });
    expect(rules[1]).toMatchObject({ window_s: 300, min_requests: 20 });
    expect(rules[7]).toMatchObject({
      severity: 'warning',
      signal: 'ai_pricing_drift',
      threshold: 0.05,
      resolve_threshold: 0.03,
      for_s: 900,
      min_requests: 20,
    });
    expect(rules[7]).not.toHaveProperty('window_s');
  });

  it('creates, lists and deletes a silence', async () => {
    const created = await post({ matchers: { name: 'HighTokenUsage' }, duration_s: 3600, comment: 'load test' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const list = await fetch(`${base}/api/v1/alerts/silences`, { headers: admin });
    const { silences } = (await list.json()) as { silences: Array<Record<string, unknown>> };
    expect(silences).toContainEqual({
      id,
      matchers: { name: 'HighTokenUsage' },
      comment: 'load test',
      created_by: 'ops',
      starts_at: new Date(NOW).toISOString(),
      ends_at: new Date(NOW + 3_600_000).toISOString(),
      status: 'active',
    });
    const alerts = await fetch(`${base}/api/v1/alerts`, { headers: admin });
    const firing = ((await alerts.json()) as { alerts: Array<{ state: string; silenced: boolean }> }).alerts[0];
    expect(firing).toMatchObject({ state: 'firing', silenced: true });
    const del = await fetch(`${base}/api/v1/alerts/silences/${id}`, { method: 'DELETE', headers: admin });
    expect(del.status).toBe(204);
    const again = await fetch(`${base}/api/v1/alerts/silences/${id}`, { method: 'DELETE', headers: admin });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${base}/api/v1/alerts/silences/not-an-id`, { method: 'DELETE', headers: admin })).status).toBe(
      404,
    );
  });

  it.each([
    [{ duration_s: 60 }, 'matchers'],
    [{ matchers: {}, duration_s: 60 }, 'matchers'],
    [{ matchers: { name: '' }, duration_s: 60 }, 'matchers.name'],
    [{ matchers: { 'bad label': 'x' }, duration_s: 60 }, 'matchers'],
    [{ matchers: { name: 'X' } }, 'duration_s'],
    [{ matchers: { name: 'X' }, duration_s: -5 }, 'duration_s'],
    [{ matchers: { name: 'X' }, duration_s: 1.5 }, 'duration_s'],
    [{ matchers: { name: 'X' }, duration_s: 60, comment: 5 }, 'comment'],
    [{ matchers: { name: 'X' }, duration_s: 60, extra: true }, 'unknown field'],
    [[1, 2], 'body'],
  ])('refuses an invalid silence %j with 400 naming %s', async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toContain(field);
  });

  it('refuses a body that is not JSON with 400 invalid_request', async () => {
    const res = await post('{not json');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('answers 503 store_unavailable when the alert state store is unreachable', async () => {
    const handle = openAlertStateStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', commandTimeoutMs: 200 });
    const app = createApp({
      config,
      repository: new AlertRepository(handle.store),
      rules: [],
      storeState: handle.state,
      instruments: createInstruments(meters.meter),
    });
    const down = await listen(app);
    try {
      const res = await fetch(`${down.base}/api/v1/alerts`, { headers: internal });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
      const health = (await (await fetch(`${down.base}/api/v1/health`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ status: 'degraded', database: 'disconnected' });
    } finally {
      down.server.closeAllConnections();
      await new Promise((resolve) => down.server.close(resolve));
      await handle.store.close();
    }
  });
});
