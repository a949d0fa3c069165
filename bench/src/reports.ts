/**
 * `pnpm bench -- --reports[=100000]` (issue 19): the spend reports on a month of 100,000 active
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
import { openStore, type UsageRecord } from '@flashcase/store';
import { Redis } from 'ioredis';
import { type Child, freePort, memoryMb } from './processes.ts';
import { startRedis } from './redis-server.ts';
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
/** The live path's script calls carry at most 200 records (LIVE_BATCH); this many wait at once. */
const IN_FLIGHT_RECORDS = 4_000;
const TOP_N_REQUESTS = 300;
/** Ticks (1e-10 USD) per token: grok-4-fast's $0.20 / $0.50 per million, grok-4's $3 / $15. */
const PRICES: Record<string, { input: number; output: number }> = {
  'grok-4-fast': { input: 2_000, output: 5_000 },
  'grok-4': { input: 30_000, output: 150_000 },
};

export interface ReportsBenchOptions {
  users: number;
  out: string;
  /** Starts a node child the way the bench does (output to its log file) and tracks it for clean-up. */
  start(name: string, args: string[], ready: RegExp, env: Record<string, string>): Promise<{ child: Child }>;
  sinkUrl: string;
}

/** A small deterministic PRNG (mulberry32): the same seed every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A user id as a JWT `sub` looks: 24 characters. */
function userId(i: number): string {
  return `usr_${i.toString(36).padStart(8, '0')}${((i * 2_654_435_761) >>> 0).toString(16).padStart(12, '0')}`;
}

interface SeedPlan {
  month: string;
  records: number;
  activeDays: number;
  activeHours: number;
  costTicks: Float64Array;
  tokens: Float64Array;
}

/**
 * The assumed month (stated in the README): every user is active on 1 to 12 days of the calendar
 * month (mean about 4.5), with 1 to 6 calls a day (mean about 2.6) in one or two neighbouring hours
 * between 07:00 and 23:00; 60 % chat, 25 % rewrite, 15 % autocomplete; 90 % grok-4-fast, 10 %
 * grok-4 (which reasons); 150-1,950 prompt tokens (a third of the users with half of it cached),
 * 40-640 completion tokens; 1 % of calls fail upstream (counted, no cost). A month's days are all
 * labelled, as at its end; the calls are timed at least three hours ago, so they fill no minute
 * buckets (those live two hours and are not per month).
 */
async function seed(users: number, record: (r: UsageRecord) => Promise<void>): Promise<SeedPlan> {
  const now = new Date();
  const year = now.getUTCFullYear();
  const mon = now.getUTCMonth();
  const days = new Date(Date.UTC(year, mon + 1, 0)).getUTCDate();
  const month = `m${year}-${pad2(mon + 1)}`;
  const latest = Date.now() - 3 * 3_600_000;
  const random = prng(19);
  const plan: SeedPlan = {
    month,
    records: 0,
    activeDays: 0,
    activeHours: 0,
    costTicks: new Float64Array(users),
    tokens: new Float64Array(users),
  };
  let pending: Promise<void>[] = [];
  for (let u = 0; u < users; u++) {
    const id = userId(u);
    const cachedShare = random() < 1 / 3 ? 0.5 : 0;
    const activeDays = 1 + Math.floor(random() ** 2 * 12);
    const chosen = new Set<number>();
    while (chosen.size < Math.min(activeDays, days)) chosen.add(1 + Math.floor(random() * days));
    const labels = new Set<string>([month]);
    for (const day of chosen) {
      const calls = 1 + Math.floor(random() ** 2 * 6);
      const firstHour = 7 + Math.floor(random() * 16);
      const dayLabel = `d${year}-${pad2(mon + 1)}-${pad2(day)}`;
      labels.add(dayLabel);
      for (let c = 0; c < calls; c++) {
        const hour = random() < 0.7 ? firstHour : Math.min(23, firstHour + 1);
        const hourLabel = `h${year}-${pad2(mon + 1)}-${pad2(day)}T${pad2(hour)}`;
        labels.add(hourLabel);
        const op = random();
        const model = random() < 0.9 ? 'grok-4-fast' : 'grok-4';
        const failed = random() < 0.01;
        const prompt = failed ? 0 : 150 + Math.floor(random() * 1_800);
        const completion = failed ? 0 : 40 + Math.floor(random() * 600);
        const price = PRICES[model] as { input: number; output: number };
        const costTicks = prompt * price.input + completion * price.output;
        plan.costTicks[u] = (plan.costTicks[u] as number) + costTicks;
        plan.tokens[u] = (plan.tokens[u] as number) + prompt + completion;
        plan.records++;
        pending.push(
          record({
            userId: id,
            model,
            operation: op < 0.6 ? 'chat' : op < 0.85 ? 'rewrite' : 'autocomplete',
            promptTokens: prompt,
            completionTokens: completion,
            reasoningTokens: model === 'grok-4' ? Math.floor(completion * 0.4) : 0,
            cachedPromptTokens: Math.floor(prompt * cachedShare),
            costTicks,
            error: failed,
            timestampMs: Math.min(latest, Date.UTC(year, mon, day, hour, Math.floor(random() * 60))),
            periods: { hour: hourLabel, day: dayLabel, month },
          }),
        );
      }
    }
    plan.activeDays += chosen.size;
    plan.activeHours += [...labels].filter((l) => l.startsWith('h')).length;
    if (pending.length >= IN_FLIGHT_RECORDS) {
      await Promise.all(pending);
      pending = [];
    }
    if (u > 0 && u % 20_000 === 0) process.stdout.write(`  seeded ${u} users, ${plan.records} calls\n`);
  }
  await Promise.all(pending);
  return plan;
}

function usedMemory(info: string): number {
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** MEMORY USAGE of many keys (pipelined); SAMPLES 0 sizes every element of a collection. */
async function memoryUsage(client: Redis, keys: string[]): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < keys.length; i += 1_000) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(i, i + 1_000)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [err, size] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      sizes.push(Number(size ?? 0));
    }
  }
  return sizes;
}

async function keysMatching(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

const kindOf = (key: string): string => {
  const rest = key.slice(KEY_PREFIX.length);
  if (rest.startsWith('{usage}:user:')) return 'user_all_time';
  const m = /^\{usage\}:(pu|pt|rk:ct|rk:tk):([hdm])/.exec(rest);
  return m ? `${m[1]}_${m[2]}` : 'other';
};

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
      const kind = kindOf(key);
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
