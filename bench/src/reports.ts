/**
 * `pnpm bench -- --reports[=100000]`: the spend reports on a month of 100,000 active
 * users, seeded through the services' own write path (`openStore`: the ResilientStore over
 * RedisStore, records with their hour, day and month labels, flushed in the live path's batches).
 *
 * Measures (1) Redis memory: INFO used_memory before and after seeding, and MEMORY USAGE of every
 * key by kind (per-user hashes, period hashes, rankings), per active user; (2) the
 * top-N answer through ai-proxy, `GET /api/v1/ai/usage/users?period=month&limit=10` (by cost and by
 * tokens), one request at a time; (3) the CSV export of every user: time to first byte, to the
 * end, and ai-proxy's peak RSS during it. Every answer is checked against the seed (the top ten, the
 * CSV's rows and sums); a mismatch fails the run.
 *
 * Bounded and loopback only: its own redis-server on 127.0.0.1 (so INFO memory counts only this
 * seed, and the shared Redis of other work is left alone), keys under a private prefix, the server
 * and its data gone at the end.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { openStore } from '@flashcase/store';
import { Redis } from 'ioredis';
import { type Child, freePort, memoryMb } from './processes.ts';
import { startRedis } from './redis-server.ts';
import { keysMatching, kindOf, memoryUsage, usedMemory } from './spend-reports/redis-memory.ts';
import { seed, userId } from './spend-reports/seed.ts';
import { quantile, round } from './stats.ts';

const require = createRequire(import.meta.url);

const KEY_PREFIX = 'flashcase-bench-reports:';
const INTERNAL_TOKEN = 'bench-reports-internal-token-0123456789';
const JWT_SECRET = 'bench-reports-jwt-secret-0123456789abcdef0123';
const ADMIN = {
  'x-internal-token': INTERNAL_TOKEN,
  'x-flashcase-user-id': 'bench-admin',
  'x-flashcase-user-role': 'admin',
};
const TOP_N_REQUESTS = 300;

export interface ReportsBenchOptions {
  users: number;
  out: string;
  /** Starts a node child the way the bench does (output to its log file) and tracks it for clean-up. */
  start(name: string, args: string[], ready: RegExp, env: Record<string, string>): Promise<{ child: Child }>;
  sinkUrl: string;
}

/** Runs the reports measurement and writes its figures to `out`. */
export async function runReportsBench(options: ReportsBenchOptions): Promise<void> {
  const { users } = options;
  const startedAt = Date.now();
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  try {
    const handle = openStore({ url: redis.url, keyPrefix: KEY_PREFIX, failureMode: 'open', commandTimeoutMs: 30_000 });
    await handle.ready(5_000);
    const store = handle.store;
    // Load the scripts and open the connection before the "before" figure (their memory is not per user).
    const warm = openStore({ url: redis.url, keyPrefix: 'warm:', failureMode: 'open', commandTimeoutMs: 30_000 });
    await warm.ready(5_000);
    await warm.store.recordUsage({
      userId: 'warm',
      model: 'grok-4-fast',
      operation: 'chat',
      promptTokens: 1,
      completionTokens: 1,
      costTicks: 1,
      periods: { hour: 'h2000-01-01T00', day: 'd2000-01-01', month: 'm2000-01' },
    });
    await store.recordUsage({
      userId: 'warm',
      model: 'grok-4-fast',
      operation: 'chat',
      promptTokens: 0,
      completionTokens: 0,
      costTicks: 0,
    });
    await warm.store.close();
    const warmKeys = await keysMatching(admin, 'warm:*');
    if (warmKeys.length > 0) await admin.del(...warmKeys);
    const before = usedMemory(await admin.info('memory'));
    const keysBefore = await admin.dbsize();

    process.stdout.write(
      `reports: seeding ${users} users through the store (openStore: ResilientStore -> RedisStore)\n`,
    );
    const seedStarted = performance.now();
    const plan = await seed(users, (r) => store.recordUsage(r));
    const seedS = (performance.now() - seedStarted) / 1000;
    if (handle.state() !== 'connected') throw new Error('the store went degraded while seeding: figures invalid');
    const summary = await store.periodSummary(plan.month);
    if (summary.activeUsers !== users || summary.counters.requests !== plan.records) {
      throw new Error(
        `seed check: ${summary.activeUsers} active users and ${summary.counters.requests} requests counted, expected ${users} and ${plan.records}`,
      );
    }
    await store.close();

    // Memory: the whole delta, then by kind.
    const after = usedMemory(await admin.info('memory'));
    const keysAfter = await admin.dbsize();
    // Every key of the prefix sized (SAMPLES 0: every field and member), summed by kind.
    const keys = await keysMatching(admin, `${KEY_PREFIX}*`);
    const sizes = await memoryUsage(admin, keys);
    const byKind: Record<string, { keys: number; bytes: number }> = {};
    keys.forEach((key, i) => {
      const kind = kindOf(key, KEY_PREFIX);
      byKind[kind] ??= { keys: 0, bytes: 0 };
      byKind[kind].keys++;
      byKind[kind].bytes += sizes[i] as number;
    });
    const perUser: Record<string, number> = {};
    for (const [kind, { bytes }] of Object.entries(byKind)) perUser[kind] = round(bytes / users, 1);
    const sum = (kinds: string[]) =>
      round(
        kinds.reduce((n, k) => n + (perUser[k] ?? 0), 0),
        0,
      );
    const memory = {
      info_used_memory_delta_bytes: after - before,
      info_per_active_user_bytes: round((after - before) / users, 0),
      keys_added: keysAfter - keysBefore,
      keys_per_user: round((keysAfter - keysBefore) / users, 2),
      memory_usage_per_user_bytes_by_kind: perUser,
      keys_by_kind: Object.fromEntries(Object.entries(byKind).map(([kind, { keys }]) => [kind, keys])),
      memory_usage_per_user_bytes: sum(Object.keys(perUser)),
      // What one user's month leaves behind: the month (kept 400 days) and its days (kept 40 days);
      // its hours live 2 days; the all-time hash is one per user ever, not per month.
      month_and_days_per_user_bytes: sum(['pu_m', 'rk:ct_m', 'rk:tk_m', 'pt_m', 'pu_d', 'rk:ct_d', 'rk:tk_d', 'pt_d']),
      hours_per_user_bytes: sum(['pu_h', 'rk:ct_h', 'rk:tk_h', 'pt_h']),
      all_time_user_hash_bytes: perUser.user_all_time ?? 0,
    };

    // The top-N answer and the CSV export, through ai-proxy.
    const port = await freePort();
    const { child: aiProxy } = await options.start(
      'reports-ai-proxy',
      [require.resolve('@flashcase/ai-proxy')],
      /ai-proxy listening/,
      {
        NODE_OPTIONS: SERVICE_NODE_OPTIONS,
        ENVIRONMENT: 'production',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(await freePort()),
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: KEY_PREFIX,
        INTERNAL_TOKEN,
        JWT_SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT: options.sinkUrl,
        // A per-user monthly budget, so the answer carries each user's budget use (two more reads).
        AI_BUDGET_USD_PER_USER_PER_MONTH: '10',
        // Never called: the bench makes no AI calls here.
        XAI_API_KEY: 'sk-bench',
        XAI_BASE_URL: 'http://127.0.0.1:9/v1',
      },
    );
    const base = `http://127.0.0.1:${port}`;
    const expected = (values: Float64Array) =>
      Array.from(values.keys())
        .sort((a, b) => (values[b] as number) - (values[a] as number) || (userId(a) < userId(b) ? 1 : -1))
        .slice(0, 10)
        .map(userId);
    const topN = async (sort: 'cost' | 'tokens', n: number) => {
      const want = expected(sort === 'cost' ? plan.costTicks : plan.tokens);
      const times: number[] = [];
      for (let i = 0; i < n + 20; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/ai/usage/users?period=month&sort=${sort}&limit=10`, { headers: ADMIN });
        const body = (await res.json()) as { users: { user_id: string; budget: unknown }[] };
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`top-N answered ${res.status}: ${JSON.stringify(body)}`);
        const got = body.users.map((u) => u.user_id);
        // Ties in tokens may order differently; the costs are distinct enough to compare exactly.
        if (sort === 'cost' ? got.join() !== want.join() : got.length !== 10) {
          throw new Error(`top-N by ${sort}: got ${got.join()}, expected ${want.join()}`);
        }
        if (body.users.some((u) => u.budget === null)) throw new Error('top-N: a user without budget use');
        if (i >= 20) times.push(ms); // the first 20 warm up
      }
      return {
        requests: n,
        mean_ms: round(times.reduce((a, b) => a + b, 0) / n, 3),
        p50_ms: round(quantile(times, 0.5), 3),
        p99_ms: round(quantile(times, 0.99), 3),
        max_ms: round(Math.max(...times), 3),
      };
    };
    const byCost = await topN('cost', TOP_N_REQUESTS);
    const byTokens = await topN('tokens', 100);

    const rssIdle = memoryMb(aiProxy.pid).rss;
    let peak = rssIdle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, memoryMb(aiProxy.pid).rss);
    }, 50);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v1/ai/usage/users?period=month&format=csv`, { headers: ADMIN });
    if (res.status !== 200 || !res.body) throw new Error(`CSV answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let firstByteMs = 0;
    let bytes = 0;
    let rest = '';
    let rows = 0;
    let costSum = 0;
    const seen = new Set<string>();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes === 0) firstByteMs = performance.now() - t0;
      bytes += value.length;
      const lines = (rest + value).split('\r\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        rows++;
        if (rows === 1) continue; // the header
        const fields = line.split(',');
        seen.add(fields[0] as string);
        costSum += Number(fields[8]);
      }
    }
    const csvMs = performance.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, memoryMb(aiProxy.pid).rss);
    const seededCost = plan.costTicks.reduce((a, b) => a + b, 0) / 1e10;
    if (rows !== users + 1 || seen.size !== users || Math.abs(costSum - seededCost) > 1e-6 * seededCost) {
      throw new Error(
        `CSV: ${rows} rows, ${seen.size} users, $${costSum} (expected ${users + 1}, ${users}, $${seededCost})`,
      );
    }
    const csv = {
      rows: users,
      bytes,
      first_byte_ms: round(firstByteMs, 1),
      total_ms: round(csvMs, 0),
      rows_per_s: round(users / (csvMs / 1000), 0),
      ai_proxy_rss_idle_mb: round(rssIdle, 1),
      ai_proxy_rss_peak_mb: round(peak, 1),
    };

    const report = {
      generated_at: new Date().toISOString(),
      wall_time_s: round((Date.now() - startedAt) / 1000, 1),
      assumptions: `one calendar month of ${users} active users (24-character ids): 1-12 active days each (mean ~4.5), 1-6 calls a day (mean ~2.6) in one or two neighbouring hours; 60/25/15 % chat/rewrite/autocomplete; 90/10 % grok-4-fast/grok-4; 1 % failed`,
      seed: {
        users,
        calls: plan.records,
        calls_per_user: round(plan.records / users, 2),
        active_days_per_user: round(plan.activeDays / users, 2),
        active_hours_per_user: round(plan.activeHours / users, 2),
        seconds: round(seedS, 1),
        calls_per_s: round(plan.records / seedS, 0),
      },
      memory,
      top_n: { by_cost: byCost, by_tokens: byTokens },
      csv,
    };
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\nwrote ${options.out}\n`);
  } finally {
    admin.disconnect();
    redis.stop();
  }
}
