import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UsageJson } from '@flashcase/config';
import { deleteKeys, listKeys, readUntil, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../src/reconcile/run';
import { REDIS_URL, runCli } from '../helpers/stack';

const INTERNAL_TOKEN = 'reconcile-test-internal-token';
const STALE_MS = 1500;
const OPERATIONS = [
  { path: 'chat', body: (i: number) => ({ messages: [{ role: 'user', content: `card ${i}: what is osmosis?` }] }) },
  {
    path: 'rewrite',
    body: (i: number) => ({ text: `The mitochondria is the powerhouse ${i}`, instruction: 'simpler' }),
  },
  { path: 'autocomplete', body: (i: number) => ({ text: `Photosynthesis turns light into ${i}` }) },
] as const;

const asUser = (id: string, role = 'user') => ({
  'x-internal-token': INTERNAL_TOKEN,
  'x-flashcase-user-id': id,
  'x-flashcase-user-role': role,
  'content-type': 'application/json',
});

/**
 * Two ai-proxy replicas as production runs them, on the real Redis: mixed traffic (every
 * operation, streams, clients that hang up mid-stream), one replica SIGKILLed with calls in
 * flight and its orphans counted by the other; then `pnpm reconcile` over the replicas' captured
 * log lines.
 */
describe('pnpm reconcile over the log lines of two replicas, one SIGKILLed under load', () => {
  const prefix = `flashcase-test:reconcile-trail:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  let victim: ServiceProcess;
  let survivor: ServiceProcess;
  let trail: string;
  let before: UsageJson;

  const usage = async () =>
    (await (await fetch(`${survivor.base}/api/v1/ai/usage`, { headers: asUser('ops', 'admin') })).json()) as UsageJson;
  // The traffic is over: no call is in flight, so no grace for the period's last seconds.
  const reconcile = (...extra: string[]) =>
    runCli(
      'reconcile',
      ['--file', trail, '--redis', REDIS_URL, '--prefix', prefix, '--json', '--grace', '0', ...extra],
      {},
      60_000,
    );

  async function call(base: string, user: string, i: number): Promise<void> {
    const op = OPERATIONS[i % OPERATIONS.length] as (typeof OPERATIONS)[number];
    const stream = i % 4 === 1;
    const hangUp = i % 8 === 5;
    const controller = new AbortController();
    const res = await fetch(`${base}/api/v1/ai/${op.path}`, {
      method: 'POST',
      headers: asUser(user),
      body: JSON.stringify({ ...op.body(i), ...(stream ? { stream: true } : {}), max_tokens: 48 }),
      signal: controller.signal,
    });
    if (hangUp && res.body) {
      // a client that reads the first chunk and goes away: the call is counted as client_closed
      await res.body.getReader().read();
      controller.abort();
      return;
    }
    await res.arrayBuffer();
  }

  async function load(targets: readonly ServiceProcess[], ms: number, loops = 4): Promise<void> {
    const until = Date.now() + ms;
    await Promise.all(
      targets.flatMap((replica, r) =>
        Array.from({ length: loops }, async (_, l) => {
          for (let i = l; Date.now() < until; i += loops) {
            try {
              await call(replica.base, `student-${r}-${l % 3}`, i);
            } catch {
              if (replica.child.exitCode !== null || replica.child.signalCode !== null) return; // killed
            }
          }
        }),
      ),
    );
  }

  beforeAll(async () => {
    const env = {
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      INTERNAL_TOKEN,
      AI_PROVIDER: 'simulated',
      AI_SIMULATED_LATENCY_MS: '200',
      AI_INFLIGHT_STALE_MS: String(STALE_MS),
      RATE_LIMIT_AI_PER_MINUTE: '0',
      RATE_LIMIT_AI_PER_HOUR: '0',
      LOG_LEVEL: 'info',
    };
    [victim, survivor] = (await Promise.all([startService('ai-proxy', env), startService('ai-proxy', env)])) as [
      ServiceProcess,
      ServiceProcess,
    ];
    const traffic = load([victim, survivor], 2500);
    await sleep(800);
    await victim.kill();
    await traffic;
    // the survivor counts the victim's calls in flight (estimated) and writes their records
    await readUntil(
      async () =>
        survivor
          .output()
          .split('\n')
          .filter((l) => l.includes('"outcome":"replica_lost"')).length,
      (n) => n > 0,
      { timeoutMs: STALE_MS * 2 + 10_000, intervalMs: 100 },
    );
    await sleep(STALE_MS); // a later sweep would find nothing more
    before = await usage();
    const dir = mkdtempSync(join(tmpdir(), 'reconcile-trail-'));
    trail = join(dir, 'ai-proxy.log');
    // what `docker compose logs` would show: both replicas' lines, prefixed
    const lines = [
      ...victim
        .output()
        .split('\n')
        .map((l) => `ai-proxy-1  | ${l}`),
      ...survivor
        .output()
        .split('\n')
        .map((l) => `ai-proxy-2  | ${l}`),
    ];
    writeFileSync(trail, `${lines.join('\n')}\n`);
  }, 120_000);

  afterAll(async () => {
    await survivor?.stop();
    await victim?.kill();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('rebuilds exactly what the store holds, orphans included', async () => {
    const run = await reconcile();
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as ReconcileReport;
    expect(report.differences).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.status).toBe('match');
    const orphans = survivor
      .output()
      .split('\n')
      .filter((l) => l.includes('"outcome":"replica_lost"')).length;
    expect(orphans).toBeGreaterThan(0);
    expect(report.trail.calls).toBe(before.usage.total_requests);
    expect(report.trail.totals.promptTokens).toBe(before.usage.total_prompt_tokens);
    expect(report.trail.totals.costTicks).toBe(Math.round(before.estimated_cost_usd * 1e10));
    expect(Object.keys(report.trail.by_operation).sort()).toEqual(['autocomplete', 'chat', 'rewrite']);
    expect(report.trail.duplicates).toBe(0);
    expect(report.trail.sequence_gaps).toEqual({});
  });

  it('restores a flushed prefix with --write, and a second run writes nothing', async () => {
    await deleteKeys(REDIS_URL, prefix);
    expect(await listKeys(REDIS_URL, `${prefix}{usage}:total`)).toEqual([]);
    const flushed = await reconcile();
    expect(flushed.code).toBe(1);
    expect((JSON.parse(flushed.stdout) as ReconcileReport).status).toBe('differ');

    const write = await reconcile('--write');
    expect(write.code).toBe(0);
    const written = JSON.parse(write.stdout) as ReconcileReport;
    expect(written.written?.fields).toBeGreaterThan(0);
    expect(written.written?.status_after).toBe('match');
    const after = await usage();
    expect(after.usage).toEqual(before.usage);
    expect(after.by_model).toEqual(before.by_model);
    expect(after.by_operation).toEqual(before.by_operation);
    expect(after.estimated_cost_usd).toBe(before.estimated_cost_usd);

    const again = await reconcile('--write');
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as ReconcileReport;
    expect(second.status).toBe('match');
    expect(second.written).toBeUndefined();
    expect((await usage()).usage).toEqual(before.usage);
  });
});
