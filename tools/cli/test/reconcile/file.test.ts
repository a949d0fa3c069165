import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisClient, RedisStore } from '@flashcase/store';
import { deleteKeys } from '@flashcase/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../src/reconcile/run';
import { REDIS_URL, runCli } from '../helpers/stack';
import { storeRecord, usageLine } from '../helpers/usage-records';

const dir = mkdtempSync(join(tmpdir(), 'reconcile-'));

function file(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('pnpm reconcile over a file of usage records', () => {
  let prefix: string;
  let store: RedisStore;

  beforeEach(async () => {
    prefix = `flashcase-test:reconcile:${process.pid}:${Math.random().toString(36).slice(2)}:`;
    const client = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 });
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    store = new RedisStore(client, { keyPrefix: prefix });
  });
  afterEach(async () => {
    await store.close();
    await deleteKeys(REDIS_URL, prefix);
  });

  const billed = usageLine({
    seq: 2,
    request_id: 'req-2',
    user_id: 'bob',
    model: 'grok-4',
    cost_source: 'billed',
    cost_usd_ticks: 7_654_321,
    priced_usd_ticks: 7_000_000,
  });
  const failed = usageLine({
    seq: 3,
    operation: 'rewrite',
    outcome: 'upstream_error',
    prompt_tokens: 0,
    completion_tokens: 0,
    reasoning_tokens: 0,
    cached_prompt_tokens: 0,
    cost_usd_ticks: 0,
  });
  // the orphan estimate a surviving replica wrote, then the frozen replica's own record of the call
  const orphan = usageLine({
    replica_id: 'ai-proxy-b:1',
    seq: 1,
    outcome: 'replica_lost',
    tokens_estimated: true,
    cost_source: 'estimated',
    prompt_tokens: 400,
    completion_tokens: 2000,
    reasoning_tokens: 0,
    cached_prompt_tokens: 0,
    cost_usd_ticks: 99_000_000,
    call_id: 'call-9',
  });
  const late = usageLine({
    seq: 4,
    call_id: 'call-9',
    prompt_tokens: 300,
    completion_tokens: 40,
    cost_usd_ticks: 55_555,
  });
  const calls = [usageLine(), billed, failed, late];

  async function countInStore(lines: readonly Record<string, unknown>[]): Promise<void> {
    for (const line of lines) await store.recordUsage(storeRecord(line));
  }

  it('reads production, compose and exported lines, reports malformed ones by line number, and matches the store', async () => {
    await countInStore(calls);
    const path = file('mixed.log', [
      JSON.stringify(usageLine()),
      `ai-proxy-1  | ${JSON.stringify(billed)}`,
      `ai-proxy-2  | 2026-03-02T10:00:01.123456789Z ${JSON.stringify(failed)}`,
      JSON.stringify({
        labels: { service_name: 'flashcase-ai-proxy' },
        line: JSON.stringify(orphan),
        timestamp: orphan.timestamp,
      }),
      JSON.stringify({ level: 'INFO', logger: 'ai-proxy.http', message: 'POST /api/v1/ai/chat 200' }),
      'Segmentation fault (core dumped)',
      JSON.stringify(usageLine({ seq: 5, user_id: undefined })),
      JSON.stringify(usageLine({ seq: 6, prompt_tokens: -3 })),
      `${JSON.stringify(late).slice(0, 40)}`,
      JSON.stringify(late),
      // the same record twice (overlapping exports): counted once
      JSON.stringify(usageLine()),
      '',
    ]);
    const run = await runCli('reconcile', ['--file', path, '--redis', REDIS_URL, '--prefix', prefix, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ReconcileReport;
    expect(report.status).toBe('match');
    expect(report.differences).toEqual([]);
    expect(report.lines).toEqual({ read: 12, usage: 6, other: 2, outside_period: 0, malformed: 4 });
    expect(report.malformed).toEqual([
      { line: 6, reason: 'not JSON' },
      { line: 7, reason: 'no user_id' },
      { line: 8, reason: 'prompt_tokens is not a non-negative integer: -3' },
      { line: 9, reason: 'not JSON' },
    ]);
    expect(report.trail).toMatchObject({ calls: 4, duplicates: 1, corrected_orphans: 1, users: 2 });
    expect(report.trail.totals).toMatchObject({
      requests: 4,
      errors: 1,
      promptTokens: 100 + 100 + 0 + 300,
      completionTokens: 50 + 50 + 0 + 40,
      costTicks: 1_000_000 + 7_654_321 + 0 + 55_555,
    });

    const text = await runCli('reconcile', ['--file', path, '--redis', REDIS_URL, '--prefix', prefix]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('line 6: not JSON');
    expect(text.stdout).toContain('line 8: prompt_tokens is not a non-negative integer: -3');
    expect(text.stdout).toContain('the store matches the trail');
  });

  it('exits 1 and names the counters when the store lacks a call the trail has', async () => {
    await countInStore(calls.slice(1));
    const path = file(
      'all.log',
      calls.map((c) => JSON.stringify(c)),
    );
    const run = await runCli('reconcile', ['--file', path, '--redis', REDIS_URL, '--prefix', prefix, '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as ReconcileReport;
    expect(report.status).toBe('differ');
    expect(report.differences).toContainEqual({
      scope: 'total',
      counter: 'prompt_tokens',
      trail: 500,
      store: 400,
      inFlight: false,
    });
    expect(report.differences).toContainEqual({
      scope: 'user alice',
      counter: 'requests',
      trail: 3,
      store: 2,
      inFlight: false,
    });
    const text = await runCli('reconcile', ['--file', path, '--redis', REDIS_URL, '--prefix', prefix]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/total\s+prompt_tokens\s+500\s+400\s+-100\s+DIFFERS/);
  });

  it("counts the period's last seconds as in flight: reported, exit 0, nothing written", async () => {
    await countInStore(calls.slice(1));
    const now = Date.now();
    const fresh = { ...usageLine(), timestamp: new Date(now - 2_000).toISOString() };
    const path = file(
      'fresh.log',
      [fresh, ...calls.slice(1)].map((c) => JSON.stringify(c)),
    );
    const args = ['--file', path, '--redis', REDIS_URL, '--prefix', prefix, '--json', '--grace', '30'];
    const run = await runCli('reconcile', [...args, '--write']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ReconcileReport;
    expect(report.status).toBe('in_flight');
    expect(report.differences.every((d) => d.inFlight)).toBe(true);
    expect(report.written).toBeUndefined();
    expect((await store.usage()).totals.requests).toBe(3);
    // the same call outside the grace window is a real difference
    expect((await runCli('reconcile', [...args.slice(0, -2), '--grace', '1'])).code).toBe(1);
  });

  it('compares a provider invoice per day and model', async () => {
    await countInStore(calls);
    const path = file(
      'calls.log',
      calls.map((c) => JSON.stringify(c)),
    );
    // grok-4-fast on 2026-03-02: 150 + 0 + 340 tokens, 1_000_000 + 55_555 ticks
    const good = file('invoice.csv', [
      'date,model,tokens,cost',
      '2026-03-02,grok-4-fast,490,0.0001055555',
      '2026-03-02,grok-4,150,"$0.0007654321"',
    ]);
    const args = ['--file', path, '--redis', REDIS_URL, '--prefix', prefix, '--json', '--invoice-tolerance-usd', '0'];
    const run = await runCli('reconcile', [...args, '--invoice', good]);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as ReconcileReport).invoice).toEqual({ rows: 2, differences: [] });

    const bad = file('invoice-bad.csv', ['model,cost,tokens,date', 'grok-4,0.0007654322,150,2026-03-02']);
    const off = await runCli('reconcile', [...args, '--invoice', bad]);
    expect(off.code).toBe(1);
    expect((JSON.parse(off.stdout) as ReconcileReport).invoice?.differences).toEqual([
      {
        day: '2026-03-02',
        model: 'grok-4',
        invoiceTokens: 150,
        trailTokens: 150,
        invoiceCostTicks: 7_654_322,
        trailCostTicks: 7_654_321,
      },
      {
        day: '2026-03-02',
        model: 'grok-4-fast',
        invoiceTokens: 0,
        trailTokens: 490,
        invoiceCostTicks: 0,
        trailCostTicks: 1_055_555,
      },
    ]);
  });

  it('exits 2 on bad arguments', async () => {
    expect((await runCli('reconcile', ['--redis', REDIS_URL])).code).toBe(2);
    expect(
      (await runCli('reconcile', ['--file', 'x', '--loki', 'http://127.0.0.1:1', '--redis', REDIS_URL])).code,
    ).toBe(2);
    const bad = await runCli('reconcile', ['--file', 'x', '--from', 'yesterday', '--redis', REDIS_URL]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from must be an ISO-8601 time');
  });
});
