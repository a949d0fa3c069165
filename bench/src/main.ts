/**
 * `pnpm bench` (CONTRACT.md section 9): the proxy chain against a bare Node hop and a peer gateway,
 * on a zero-delay OpenAI-compatible upstream started here on loopback, in interleaved rounds so that
 * machine drift hits every target alike.
 *
 *   (a) upstream       the fake upstream itself
 *   (b) bare hop       a node:http keep-alive one-hop proxy (the floor for any Node proxy)
 *   (c) ai-proxy       ai-proxy alone, full telemetry (OTLP traces + logs, /metrics) and Redis counters
 *   (d) gateway        gateway -> ai-proxy, the same
 *   (e) portkey        @portkey-ai/gateway (pinned) with the upstream as a custom OpenAI host
 *
 * Optional targets (--targets=...): c-otel-off / d-otel-off (OTEL_SDK_DISABLED=true) and d-sampled
 * (10 % of traces and routine logs), to show what telemetry costs; c|d-small-young, c|d-capped-heap,
 * c|d-tight-old and c|d-v8-heap (V8's own heap sizing, without the services' NODE_OPTIONS), to
 * show what memory costs. `--soak=120` instead runs (d) (or the first d target named, e.g.
 * `--targets=d-v8-heap`) at 50 connections for 120 s and reports its memory over time: RSS, and a
 * third in and at the end the heap after a forced full collection (the leak test). `--memlog`
 * preloads memlog.ts into every process and sums up where its memory was. c|d-limits turns the
 * limits on (never reached), as production runs: the AI limit script then carries each call's
 * in-flight record. `--baseline=name:<checkout>` adds c|d@name (that checkout's services) and
 * c|d-<variant>@name. `--reports[=100000]` instead measures the spend reports on that many seeded
 * users (reports.ts: Redis memory per active user, the top-N answer, the CSV export).
 *
 * Writes bench/results.json (or --out). Limits are off (RATE_LIMIT_*=0) so nothing is refused; every
 * answer is checked (status 200 and a real completion), and a target with any failure is marked
 * invalid rather than reported as fast.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { inspectorUrl, liveHeap } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { type Endpoint, type RunStats, runJson, runStream, type StreamStats } from './load.ts';
import { type Child, cpuMs, freePort, memoryMb, sampleMemory, startChild } from './processes.ts';
import { runReportsBench } from './reports.ts';
import { mean, median, quantile, round } from './stats.ts';

const require = createRequire(import.meta.url);
const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const SRC_DIR = join(BENCH_DIR, 'src');

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    duration: { type: 'string', default: process.env.BENCH_DURATION_S ?? '3' },
    'latency-duration': { type: 'string', default: process.env.BENCH_LATENCY_S ?? '3' },
    'stream-duration': { type: 'string', default: process.env.BENCH_STREAM_S ?? '2' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '50' },
    targets: { type: 'string', default: process.env.BENCH_TARGETS ?? 'a,b,c,d,e' },
    soak: { type: 'string' },
    baseline: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    memlog: { type: 'boolean', default: false },
    reports: { type: 'string' },
  },
  allowPositionals: false,
});

const ROUNDS = Number(flags.rounds);
const DURATION_S = Number(flags.duration);
const LATENCY_S = Number(flags['latency-duration']);
const STREAM_S = Number(flags['stream-duration']);
const CONNECTIONS = Number(flags.connections);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY_PREFIX = `flashcase-bench:${process.pid}:`;
const INTERNAL_TOKEN = 'bench-internal-token-0123456789abcdef';
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
const UPSTREAM_KEY = 'sk-bench';

/** `a`..`e`, and for c/d a variant: `c-otel-off`, `d-sampled`, `d@base` (see VARIANTS). */
type TargetId = string;

const BASE_LABELS: Record<string, string> = {
  a: 'upstream (direct)',
  b: 'bare node:http hop',
  c: 'ai-proxy',
  d: 'gateway -> ai-proxy',
  e: 'portkey gateway 1.15.2',
};

/**
 * `--baseline=<dir>` or `--baseline=name:<dir>,name:<dir>`: other checkouts (built) whose c and d
 * stacks run as `c@name` / `d@name` in the same interleaved rounds, for before/after figures.
 */
const BASELINES = new Map<string, string>(
  (flags.baseline ?? '')
    .split(',')
    .filter(Boolean)
    .map((spec) => {
      const colon = spec.indexOf(':');
      return colon > 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : ['base', spec];
    }),
);

/** Variants of the c and d stacks: extra environment, or the services of another checkout. */
const VARIANTS: Record<string, { label: string; env: Record<string, string>; nodeArgs?: string[]; root?: string }> = {
  full: { label: '', env: {} },
  'otel-off': { label: ', OTEL_SDK_DISABLED', env: { OTEL_SDK_DISABLED: 'true' } },
  // What a smaller heap costs and saves: V8's young generation capped (on a large host it grows to
  // 64 MB x 2 under load), and also the old generation (the setting that reaches 200 MB).
  'small-young': { label: ', semi-space 8 MB', env: { NODE_OPTIONS: '--max-semi-space-size=8' } },
  // The services run with SERVICE_NODE_OPTIONS (a 16 MB semi-space); this is V8's own sizing.
  'v8-heap': { label: ', V8 heap sizing', env: { NODE_OPTIONS: '' } },
  'capped-heap': {
    label: ', semi 8 MB + old 160 MB',
    env: { NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=160' },
  },
  // The old generation grown 20 % past what survives a full GC instead of V8's factor (up to 4x on
  // an idle-looking heap); a command-line flag (NODE_OPTIONS refuses it).
  'tight-old': { label: ', heap growing 20 %', env: {}, nodeArgs: ['--heap-growing-percent=20'] },
  // Limits on but never reached: the AI limit script runs on every call (and carries its in-flight
  // record), as in production, where the default limits are on.
  limits: {
    label: ', limits on',
    env: {
      RATE_LIMIT_AI_PER_MINUTE: '1000000000',
      RATE_LIMIT_AI_PER_HOUR: '1000000000',
      RATE_LIMIT_GENERAL_PER_MINUTE: '1000000000',
      RATE_LIMIT_GENERAL_PER_HOUR: '1000000000',
    },
  },
  sampled: {
    label: ', 10 % sampled',
    env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', LOG_SAMPLE_RATE: '0.1' },
  },
  ...Object.fromEntries([...BASELINES].map(([name, root]) => [name, { label: ` @${name}`, env: {}, root }])),
};

/**
 * A target id: its letter, and for c/d a variant (`-otel-off`), a baseline checkout (`@base`), or
 * both (`-limits@base`: the variant's environment on the baseline's services). `variant` names the
 * stack the target runs on.
 */
function parseTarget(id: TargetId): { letter: string; variant: string; env: string; baseline?: string } {
  const m = /^([a-e])(?:-([\w-]+))?(?:@([\w.-]+))?$/.exec(id);
  const env = m?.[2] ?? 'full';
  const baseline = m?.[3];
  if (
    !m ||
    ((env !== 'full' || baseline !== undefined) && !'cd'.includes(m[1] as string)) ||
    !(env in VARIANTS) ||
    BASELINES.has(env) ||
    (baseline !== undefined && !BASELINES.has(baseline))
  ) {
    const named = Object.keys(VARIANTS).filter((v) => v !== 'full' && !BASELINES.has(v));
    throw new Error(
      `unknown target ${id}: a, b, c, d, e, ${named.map((v) => `c|d-${v}`).join(', ')}, c|d[-<variant>]@<--baseline name>`,
    );
  }
  const variant = baseline === undefined ? env : env === 'full' ? baseline : `${env}@${baseline}`;
  return baseline === undefined
    ? { letter: m[1] as string, variant, env }
    : { letter: m[1] as string, variant, env, baseline };
}

/** The stack a variant names: the environment of its `-variant`, the services of its `@baseline`. */
function variantSpec(id: TargetId): { label: string; env: Record<string, string>; nodeArgs?: string[]; root?: string } {
  const { env, baseline } = parseTarget(id);
  const own = VARIANTS[env] as (typeof VARIANTS)[string];
  if (baseline === undefined) return own;
  const base = VARIANTS[baseline] as (typeof VARIANTS)[string];
  return { ...own, label: `${own.label}${base.label}`, ...(base.root ? { root: base.root } : {}) };
}

function labelOf(id: TargetId): string {
  const { letter } = parseTarget(id);
  return `${BASE_LABELS[letter]}${'cd'.includes(letter) ? variantSpec(id).label : ''}`;
}

interface Target {
  id: TargetId;
  endpoint: Endpoint;
  /** The processes the request passes through (for CPU per request), upstream last. */
  chain: Child[];
}

interface TargetResult {
  throughput: RunStats[];
  latency: RunStats[];
  stream: StreamStats[];
  cpuMsPerRequest: Record<string, number[]>;
}

const children: Child[] = [];
const logDir = mkdtempSync(join(tmpdir(), 'flashcase-bench-'));

async function start(name: string, args: string[], ready: RegExp, env: Record<string, string> = {}, cwd?: string) {
  const profile = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${join(logDir, 'profiles')}`] : [];
  if (flags.memlog) profile.push(`--import=${join(SRC_DIR, 'memlog.ts')}`);
  const { child, value } = await startChild({ name, args: [...profile, ...args], ready, env, cwd, logDir });
  children.push(child);
  return { child, value };
}

// ---------------------------------------------------------------------------------------------
// The processes

async function startUpstream() {
  const cli = require.resolve('@flashcase/fake-openai/cli');
  const { child, value } = await start('upstream', [cli, '--port', '0', '--latency-ms', '0'], /LISTENING (\S+)/);
  return { child, url: value }; // base URL with /v1
}

interface Stack {
  aiProxy: Child;
  aiProxyUrl: string;
  gateway?: Child;
  gatewayUrl?: string;
}

async function startStack(
  name: string,
  upstreamUrl: string,
  sinkUrl: string,
  extraEnv: Record<string, string>,
  withGateway: boolean,
  root?: string,
  nodeArgs: string[] = [],
): Promise<Stack> {
  const main = (service: string) =>
    root ? join(root, 'services', service, 'dist/main.js') : require.resolve(`@flashcase/${service}`);
  const common = {
    // As the Dockerfiles run them; a variant may set its own.
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    ENVIRONMENT: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    REDIS_URL,
    REDIS_KEY_PREFIX: KEY_PREFIX,
    INTERNAL_TOKEN,
    JWT_SECRET,
    RATE_LIMIT_AI_PER_MINUTE: '0',
    RATE_LIMIT_AI_PER_HOUR: '0',
    RATE_LIMIT_GENERAL_PER_MINUTE: '0',
    RATE_LIMIT_GENERAL_PER_HOUR: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    ...extraEnv,
  };
  const aiPort = await freePort();
  const { child: aiProxy } = await start(`${name}-ai-proxy`, [...nodeArgs, main('ai-proxy')], /ai-proxy listening/, {
    ...common,
    PORT: String(aiPort),
    METRICS_PORT: String(await freePort()),
    XAI_BASE_URL: upstreamUrl,
    XAI_API_KEY: UPSTREAM_KEY,
  });
  const stack: Stack = { aiProxy, aiProxyUrl: `http://127.0.0.1:${aiPort}` };
  if (withGateway) {
    const gwPort = await freePort();
    const { child } = await start(`${name}-gateway`, [...nodeArgs, main('gateway')], /gateway listening/, {
      ...common,
      PORT: String(gwPort),
      METRICS_PORT: String(await freePort()),
      AI_PROXY_URL: stack.aiProxyUrl,
    });
    stack.gateway = child;
    stack.gatewayUrl = `http://127.0.0.1:${gwPort}`;
  }
  return stack;
}

function userToken(): string {
  const cli = require.resolve('@flashcase/gateway/dist/auth/token-cli.js');
  const out = spawnSync(process.execPath, [cli, '--user', 'bench'], {
    env: { PATH: process.env.PATH ?? '', JWT_SECRET, INTERNAL_TOKEN, ENVIRONMENT: 'production' },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`token-cli failed: ${out.stderr}`);
  return out.stdout.trim();
}

async function startPortkey(): Promise<{ child: Child; url: string }> {
  const pkg = dirname(require.resolve('@portkey-ai/gateway/package.json'));
  const port = await freePort();
  const { child } = await start(
    'portkey',
    [join(pkg, 'build/start-server.js'), `--port=${port}`, '--headless'],
    /Ready for connections|running at/,
    { NODE_ENV: 'production' },
    pkg,
  );
  return { child, url: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------
// Measuring

async function measureThroughput(
  target: Target,
  durationS: number,
): Promise<{ run: RunStats; cpu: Record<string, number> }> {
  const before = target.chain.map((c) => cpuMs(c.pid));
  const run = await runJson(target.endpoint, CONNECTIONS, durationS);
  const cpu: Record<string, number> = {};
  target.chain.forEach((c, i) => {
    cpu[c.name] = run.requests > 0 ? (cpuMs(c.pid) - (before[i] as number)) / run.requests : Number.NaN;
  });
  return { run, cpu };
}

function problemsOf(result: TargetResult): string[] {
  const problems: string[] = [];
  for (const [kind, runs] of [
    ['throughput', result.throughput],
    ['latency', result.latency],
  ] as const) {
    const bad = runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts + r.mismatches, 0);
    if (bad > 0) {
      const codes = runs.flatMap((r) => Object.entries(r.statusCodes).map(([c, n]) => `${c}x${n}`)).join(' ');
      problems.push(`${kind}: ${bad} failed answers (status ${codes})`);
    }
  }
  const streamBad = result.stream.reduce((n, s) => n + s.failures, 0);
  if (streamBad > 0) {
    const codes = result.stream.flatMap((s) => Object.entries(s.statusCodes).map(([c, n]) => `${c}x${n}`)).join(' ');
    problems.push(`stream: ${streamBad} failed answers (status ${codes})`);
  }
  return problems;
}

function summarise(result: TargetResult) {
  const tputRps = median(result.throughput.map((r) => r.rps));
  const latRps = median(result.latency.map((r) => r.rps));
  const samples = result.latency.flatMap((r) => r.samples);
  const ttfb = result.stream.flatMap((s) => s.ttfbMs);
  const total = result.stream.flatMap((s) => s.totalMs);
  const problems = problemsOf(result);
  const jsonValid = !problems.some((p) => !p.startsWith('stream'));
  const streamValid = !problems.some((p) => p.startsWith('stream'));
  const cpu: Record<string, number> = {};
  for (const [name, values] of Object.entries(result.cpuMsPerRequest)) cpu[name] = round(median(values), 3);
  return {
    valid: jsonValid,
    stream_valid: streamValid,
    problems,
    throughput: {
      connections: CONNECTIONS,
      rps: round(tputRps, 0),
      rounds_rps: result.throughput.map((r) => round(r.rps, 0)),
      requests: result.throughput.reduce((n, r) => n + r.requests, 0),
      non2xx: result.throughput.reduce((n, r) => n + r.non2xx, 0),
      errors: result.throughput.reduce((n, r) => n + r.errors + r.timeouts, 0),
      mismatches: result.throughput.reduce((n, r) => n + r.mismatches, 0),
    },
    latency: {
      connections: 1,
      rps: round(latRps, 0),
      mean_ms: round(1000 / latRps, 3),
      p50_ms: round(quantile(samples, 0.5), 3),
      p99_ms: round(quantile(samples, 0.99), 3),
      rounds_mean_ms: result.latency.map((r) => round(r.meanMs, 3)),
      requests: result.latency.reduce((n, r) => n + r.requests, 0),
      non2xx: result.latency.reduce((n, r) => n + r.non2xx, 0),
      errors: result.latency.reduce((n, r) => n + r.errors + r.timeouts, 0),
      mismatches: result.latency.reduce((n, r) => n + r.mismatches, 0),
    },
    stream: {
      connections: 1,
      requests: result.stream.reduce((n, s) => n + s.requests, 0),
      ok: result.stream.reduce((n, s) => n + s.ok, 0),
      failures: result.stream.reduce((n, s) => n + s.failures, 0),
      status_codes: result.stream.reduce<Record<string, number>>((acc, s) => {
        for (const [c, n] of Object.entries(s.statusCodes)) acc[c] = (acc[c] ?? 0) + n;
        return acc;
      }, {}),
      ttfb_mean_ms: round(mean(ttfb), 3),
      ttfb_p50_ms: round(quantile(ttfb, 0.5), 3),
      ttfb_p99_ms: round(quantile(ttfb, 0.99), 3),
      total_mean_ms: round(mean(total), 3),
    },
    cpu_ms_per_request: cpu,
  };
}

type Summary = ReturnType<typeof summarise>;

function compare(x: Summary, base: Summary) {
  return {
    added_mean_ms: round(x.latency.mean_ms - base.latency.mean_ms, 3),
    added_p50_ms: round(x.latency.p50_ms - base.latency.p50_ms, 3),
    added_p99_ms: round(x.latency.p99_ms - base.latency.p99_ms, 3),
    throughput_ratio: round(x.throughput.rps / base.throughput.rps, 3),
    added_ttfb_ms:
      x.stream_valid && base.stream_valid ? round(x.stream.ttfb_mean_ms - base.stream.ttfb_mean_ms, 3) : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function pad(value: string, width: number, left = false): string {
  return left ? value.padEnd(width) : value.padStart(width);
}

function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

function printTable(ids: TargetId[], summaries: Record<string, Summary>, rss: Record<string, number>) {
  const a = summaries.a;
  const b = summaries.b;
  const head = [
    pad('target', 40, true),
    pad('rps@50', 8),
    pad('x(a)', 6),
    pad('x(b)', 6),
    pad('mean@1', 8),
    pad('+ms(a)', 7),
    pad('+ms(b)', 7),
    pad('p99@1', 7),
    pad('ttfb', 7),
    pad('+ttfb(a)', 9),
    pad('cpu/req', 8),
    pad('rss MB', 7),
  ].join(' ');
  const lines = [head, '-'.repeat(head.length)];
  for (const id of ids) {
    const s = summaries[id] as Summary;
    const vsA = a ? compare(s, a) : undefined;
    const vsB = b ? compare(s, b) : undefined;
    const cpu = Object.values(s.cpu_ms_per_request).reduce((n, v) => n + v, 0);
    const rssMb = Object.entries(rss)
      .filter(([name]) => s.cpu_ms_per_request[name] !== undefined && name !== 'upstream')
      .map(([, mb]) => Math.round(mb))
      .join('+');
    lines.push(
      [
        pad(`(${id}) ${labelOf(id)}${s.valid ? '' : ' INVALID'}`, 40, true),
        pad(fmt(s.throughput.rps, 0), 8),
        pad(fmt(vsA?.throughput_ratio), 6),
        pad(fmt(vsB?.throughput_ratio), 6),
        pad(fmt(s.latency.mean_ms, 3), 8),
        pad(fmt(vsA?.added_mean_ms, 3), 7),
        pad(fmt(vsB?.added_mean_ms, 3), 7),
        pad(fmt(s.latency.p99_ms, 2), 7),
        pad(s.stream_valid ? fmt(s.stream.ttfb_mean_ms, 3) : 'FAIL', 7),
        pad(fmt(vsA?.added_ttfb_ms, 3), 9),
        pad(fmt(cpu, 3), 8),
        pad(rssMb || '-', 7),
      ].join(' '),
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  process.stdout.write(
    '\nrps@50: requests/s at 50 connections (median of rounds); x(a)/x(b): that against (a)/(b); mean@1: 1000/rps at\n' +
      '1 connection (ms); +ms: added mean latency; p99@1: p99 at 1 connection; ttfb: streaming time to first byte\n' +
      'at 1 connection (mean ms); cpu/req: CPU ms per request summed over the chain (upstream included); rss: peak MB.\n',
  );
  for (const id of ids) {
    const s = summaries[id] as Summary;
    for (const p of s.problems) process.stdout.write(`  (${id}) ${p}\n`);
  }
}

// ---------------------------------------------------------------------------------------------

async function cleanRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch (err) {
    process.stderr.write(`bench: could not clean Redis keys ${KEY_PREFIX}*: ${(err as Error).message}\n`);
  } finally {
    redis.disconnect();
  }
}

async function usageCounted(aiProxyUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${aiProxyUrl}/api/v1/ai/usage`, {
      headers: {
        'x-internal-token': INTERNAL_TOKEN,
        'x-flashcase-user-id': 'bench-admin',
        'x-flashcase-user-role': 'admin',
      },
    });
    const body = (await res.json()) as { usage?: { total_requests?: number } };
    return body.usage?.total_requests;
  } catch {
    return undefined;
  }
}

async function stopAll(): Promise<void> {
  await Promise.all(children.map((c) => c.stop()));
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const ids = String(flags.targets)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as TargetId[];
  for (const id of ids) parseTarget(id);
  const soakS = flags.soak === undefined ? undefined : Number(flags.soak || 120);

  process.stdout.write(
    `flashcase bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\nlogs: ${logDir}\n`,
  );

  if (flags.reports !== undefined) {
    // The spend reports on a month of N seeded users (reports.ts), instead of the proxy rounds.
    const sink = await start('otlp-sink', [join(SRC_DIR, 'otlp-sink.ts')], /LISTENING (\S+)/);
    await runReportsBench({
      users: Number(flags.reports || 100_000),
      out: flags.out ?? join(BENCH_DIR, 'results-reports.json'),
      start: (name, args, ready, env) => start(name, args, ready, env),
      sinkUrl: sink.value,
    });
    await stopAll();
    return;
  }

  const upstream = await startUpstream();
  const upstreamOrigin = new URL(upstream.url).origin;
  const sink = await start('otlp-sink', [join(SRC_DIR, 'otlp-sink.ts')], /LISTENING (\S+)/);
  const sinkUrl = sink.value;
  const token = userToken();
  const internalHeaders = { 'x-internal-token': INTERNAL_TOKEN, 'x-flashcase-user-id': 'bench' };

  const targets: Target[] = [];
  const stacks: Record<string, Stack> = {};
  // The soak runs one chain: the first (d) target named (d-v8-heap, d@base, ...), else (d).
  const soakTarget = ids.find((t) => parseTarget(t).letter === 'd') ?? 'd';
  const wanted = soakS !== undefined ? [soakTarget] : ids;
  for (const id of wanted) {
    switch (id) {
      case 'a':
        targets.push({
          id,
          endpoint: { url: `${upstream.url}/chat/completions`, headers: {} },
          chain: [upstream.child],
        });
        break;
      case 'b': {
        const bare = await start('bare-hop', [join(SRC_DIR, 'bare-proxy.ts'), upstreamOrigin], /LISTENING (\S+)/);
        targets.push({
          id,
          endpoint: { url: `${bare.value}/v1/chat/completions`, headers: {} },
          chain: [bare.child, upstream.child],
        });
        break;
      }
      case 'e': {
        const portkey = await startPortkey();
        targets.push({
          id,
          endpoint: {
            url: `${portkey.url}/v1/chat/completions`,
            headers: {
              authorization: `Bearer ${UPSTREAM_KEY}`,
              'x-portkey-provider': 'openai',
              'x-portkey-custom-host': upstream.url,
            },
          },
          chain: [portkey.child, upstream.child],
        });
        break;
      }
      default: {
        // c and d, with their variants
        const { letter, variant } = parseTarget(id);
        const spec = variantSpec(id);
        const needsGateway = wanted.some((t) => {
          const other = parseTarget(t);
          return other.letter === 'd' && other.variant === variant;
        });
        stacks[variant] ??= await startStack(
          variant,
          upstream.url,
          sinkUrl,
          spec.env,
          needsGateway,
          spec.root,
          // The soak asks each service's inspector for its heap after a full collection.
          soakS !== undefined ? [...(spec.nodeArgs ?? []), '--inspect=127.0.0.1:0'] : spec.nodeArgs,
        );
        const stack = stacks[variant];
        if (letter === 'c') {
          targets.push({
            id,
            endpoint: { url: `${stack.aiProxyUrl}/api/v1/ai/chat/completions`, headers: internalHeaders },
            chain: [stack.aiProxy, upstream.child],
          });
        } else {
          targets.push({
            id,
            endpoint: {
              url: `${stack.gatewayUrl}/api/v1/ai/chat/completions`,
              headers: { authorization: `Bearer ${token}` },
            },
            chain: [stack.gateway as Child, stack.aiProxy, upstream.child],
          });
        }
        break;
      }
    }
  }
  const services = () => children.filter((c) => c.name !== 'otlp-sink');
  const stopSampling = sampleMemory(services);

  if (soakS !== undefined) {
    await soak(targets[0] as Target, soakS, stacks[parseTarget(soakTarget).variant] as Stack);
    stopSampling();
    await stopAll();
    await cleanRedis();
    return;
  }

  // Warm-up: JIT, pools and connections, once per target; failures here show up in the rounds too.
  for (const target of targets) {
    await runJson(target.endpoint, CONNECTIONS, 1);
    await runStream(target.endpoint, 0.3);
  }

  const countedBefore = stacks.full ? await usageCounted(stacks.full.aiProxyUrl) : undefined;
  const results: Record<string, TargetResult> = {};
  for (const t of targets) results[t.id] = { throughput: [], latency: [], stream: [], cpuMsPerRequest: {} };
  const rssByRound: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no target always runs first (or right after the same one).
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
    for (const target of order) {
      const result = results[target.id] as TargetResult;
      const { run, cpu } = await measureThroughput(target, DURATION_S);
      result.throughput.push(run);
      for (const [name, value] of Object.entries(cpu)) {
        result.cpuMsPerRequest[name] ??= [];
        result.cpuMsPerRequest[name].push(value);
      }
      result.latency.push(await runJson(target.endpoint, 1, LATENCY_S));
      result.stream.push(await runStream(target.endpoint, STREAM_S));
    }
    for (const child of services()) {
      rssByRound[child.name] ??= [];
      rssByRound[child.name].push(round0(memoryMb(child.pid).rss));
    }
    process.stdout.write(`round ${round + 1}/${ROUNDS} done (${((Date.now() - startedAt) / 1000).toFixed(0)} s)\n`);
  }

  const counted = stacks.full ? await usageCounted(stacks.full.aiProxyUrl) : undefined;
  const sinkStats = (await (await fetch(`${sinkUrl}/stats`)).json()) as Record<string, unknown>;
  stopSampling();
  const peakRss: Record<string, number> = {};
  for (const child of services()) peakRss[child.name] = round0(Math.max(child.peakRssMb, memoryMb(child.pid).hwm));
  await stopAll();
  await cleanRedis();

  const summaries: Record<string, Summary> = {};
  for (const t of targets) summaries[t.id] = summarise(results[t.id] as TargetResult);
  const comparisons: Record<string, unknown> = {};
  for (const t of targets) {
    if (t.id === 'a' || t.id === 'b') continue;
    comparisons[t.id] = {
      vs_a: summaries.a ? compare(summaries[t.id] as Summary, summaries.a) : undefined,
      vs_b: summaries.b ? compare(summaries[t.id] as Summary, summaries.b) : undefined,
    };
  }
  // Every c and d stack (variants and baselines too) writes the same keys the full stack reads.
  const throughAiProxy = targets.map((t) => t.id).filter((id) => 'cd'.includes(parseTarget(id).letter));
  const sentThroughAiProxy = throughAiProxy.reduce((n, id) => {
    const r = results[id];
    if (!r) return n;
    return (
      n +
      r.throughput.reduce((m, x) => m + x.requests, 0) +
      r.latency.reduce((m, x) => m + x.requests, 0) +
      r.stream.reduce((m, x) => m + x.requests, 0)
    );
  }, 0);

  const checks = targetChecks(summaries, peakRss, rssByRound);
  const report = {
    generated_at: new Date().toISOString(),
    wall_time_s: round((Date.now() - startedAt) / 1000, 1),
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model,
      memory_gb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    },
    method: {
      rounds: ROUNDS,
      throughput: { connections: CONNECTIONS, duration_s: DURATION_S },
      latency: { connections: 1, duration_s: LATENCY_S, mean: '1000 / requests per second' },
      stream: { connections: 1, duration_s: STREAM_S, measure: 'time to first body byte, and to [DONE]' },
      request: 'POST chat/completions, one user message, max_tokens 64 (stream: true for the stream case)',
      upstream: '@flashcase/fake-openai, latency 0, recording off',
      services:
        'ENVIRONMENT=production, OTLP traces and logs to a loopback sink, /metrics on, Redis counters, RATE_LIMIT_*=0',
    },
    targets: Object.fromEntries(targets.map((t) => [t.id, { label: labelOf(t.id), ...summaries[t.id] }])),
    comparisons,
    checks,
    processes: Object.fromEntries(
      services().map((c) => [c.name, { peak_rss_mb: peakRss[c.name], rss_after_each_round_mb: rssByRound[c.name] }]),
    ),
    telemetry_received_by_sink: sinkStats,
    usage_check:
      counted === undefined
        ? undefined
        : {
            answered_through_ai_proxy: sentThroughAiProxy,
            counted_by_store: counted - (countedBefore ?? 0),
            note: 'measured rounds only; the store may count up to 50 more per throughput run and 1 per latency run: requests still in flight when autocannon stops are served and counted, but not answered to it',
          },
  };
  const out = flags.out ?? join(BENCH_DIR, 'results.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);

  printTable(
    targets.map((t) => t.id),
    summaries,
    peakRss,
  );
  process.stdout.write('\nTargets (issue 8):\n');
  for (const c of checks) {
    process.stdout.write(`  ${c.met ? 'MET  ' : 'UNMET'} ${c.name}: ${c.value} (limit ${c.limit})\n`);
  }
  if (flags.memlog) printMemlog();
  process.stdout.write(`\nwrote ${out} in ${report.wall_time_s} s\n`);
}

function round0(mb: number): number {
  return Math.round(mb * 10) / 10;
}

interface Check {
  name: string;
  value: number | string;
  limit: string;
  met: boolean;
}

/**
 * `x`'s throughput over `y`'s, paired by round: the two ran in the same round, minutes apart at
 * most, so their ratio per round cancels the machine's drift between rounds, which on a shared
 * machine can be larger than the difference measured (rounds of one target have differed by 45 %).
 */
function pairedThroughput(x: Summary, y: Summary): { median: number; text: string } {
  const ratios = x.throughput.rounds_rps
    .map((rps, i) => rps / (y.throughput.rounds_rps[i] ?? Number.NaN))
    .filter((r) => Number.isFinite(r));
  const value = round(median(ratios), 3);
  if (ratios.length < 2) return { median: value, text: String(value) };
  return { median: value, text: `${value} (rounds ${round(Math.min(...ratios), 3)}-${round(Math.max(...ratios), 3)})` };
}

function targetChecks(
  s: Record<string, Summary>,
  peakRss: Record<string, number>,
  rssByRound: Record<string, number[]>,
) {
  const checks: Check[] = [];
  const { a, b, c, d, e } = s;
  if (c && b) {
    const ratio = pairedThroughput(c, b);
    checks.push({
      name: '(c) throughput vs (b) at 50 connections, median of the rounds paired',
      value: ratio.text,
      limit: '>= 0.60',
      met: c.valid && ratio.median >= 0.6,
    });
  }
  if (c && a) {
    const added = round(c.latency.mean_ms - a.latency.mean_ms, 3);
    checks.push({
      name: '(c) added mean latency vs (a), 1 connection (ms)',
      value: added,
      limit: '<= 1.0',
      met: c.valid && added <= 1.0,
    });
  }
  if (d && b) {
    const ratio = pairedThroughput(d, b);
    checks.push({
      name: '(d) throughput vs (b) at 50 connections, median of the rounds paired',
      value: ratio.text,
      limit: '>= 0.30',
      met: d.valid && ratio.median >= 0.3,
    });
  }
  if (d && a) {
    const added = round(d.latency.mean_ms - a.latency.mean_ms, 3);
    checks.push({
      name: '(d) added mean latency vs (a), 1 connection (ms)',
      value: added,
      limit: '<= 2.0',
      met: d.valid && added <= 2.0,
    });
    checks.push({
      name: '(d) p99 latency, 1 connection (ms)',
      value: d.latency.p99_ms,
      limit: '<= 5.0',
      met: d.valid && d.latency.p99_ms <= 5,
    });
    const ttfb = round(d.stream.ttfb_mean_ms - a.stream.ttfb_mean_ms, 3);
    checks.push({
      name: '(d) streaming time to first byte vs (a), 1 connection (ms)',
      value: ttfb,
      limit: '<= 2.0',
      met: d.stream_valid && a.stream_valid && ttfb <= 2,
    });
  }
  if (d && e) {
    const ratio = pairedThroughput(d, e);
    const ahead = d.throughput.rounds_rps.filter(
      (rps, i) => rps > (e.throughput.rounds_rps[i] ?? Number.POSITIVE_INFINITY),
    ).length;
    checks.push({
      name: '(d) beats (e): throughput ratio d/e, median of the rounds paired',
      value: `${ratio.text}, d ahead in ${ahead} of ${d.throughput.rounds_rps.length}`,
      limit: '> 1',
      met: d.valid && ratio.median > 1,
    });
    checks.push({
      name: '(d) beats (e): mean latency d - e (ms)',
      value: round(d.latency.mean_ms - e.latency.mean_ms, 3),
      limit: '< 0',
      met: d.valid && d.latency.mean_ms < e.latency.mean_ms,
    });
  }
  for (const [name, mb] of Object.entries(peakRss)) {
    if (!/ai-proxy|gateway$/.test(name) || name === 'portkey') continue;
    checks.push({ name: `${name} peak RSS (MB)`, value: mb, limit: '<= 200', met: mb <= 200 });
    const rounds = rssByRound[name] ?? [];
    if (rounds.length >= 2) {
      const growth = round((rounds[rounds.length - 1] as number) - (rounds[0] as number), 1);
      checks.push({
        // NOTE: rounds mix loads (50 connections, 1, streams) and V8 sizes its heap to each:
        // this reads heap sizing as growth. `--soak=120` (one load, 10 s slices) is the leak test.
        name: `${name} RSS growth, first to last round (MB; heap sizing too, --soak is the leak test)`,
        value: growth,
        limit: '<= 10',
        met: growth <= 10,
      });
    }
  }
  return checks;
}

/** `--memlog`: the peak of each field memlog.ts printed, per process. */
function printMemlog(): void {
  process.stdout.write('\nmemory (peak MB of 2 s samples; arrayBuffers: Buffer bytes outside the V8 heap):\n');
  for (const child of children) {
    const peak: Record<string, number> = {};
    for (const m of readFileSync(child.logFile, 'utf8').matchAll(/^MEMLOG (.*)$/gm)) {
      for (const [key, value] of (m[1] as string).split(' ').map((kv) => kv.split('='))) {
        peak[key as string] = Math.max(peak[key as string] ?? 0, Number(value));
      }
    }
    const fields = Object.entries(peak).map(([k, v]) => `${k} ${v.toFixed(1)}`);
    if (fields.length > 0) process.stdout.write(`  ${child.name.padEnd(24)} ${fields.join('  ')}\n`);
  }
}

/**
 * `--soak=N`: (d) at 50 connections for N seconds in 10 s slices; after each, every service's RSS;
 * a third in and at the end, what its heap holds after a full collection (forced through its
 * inspector: what a leak grows, whatever V8's sizing does to RSS).
 */
async function soak(target: Target, seconds: number, stack: Stack): Promise<void> {
  const slices = Math.max(1, Math.round(seconds / 10));
  const services = [stack.gateway as Child, stack.aiProxy];
  const urls = services.map((c) => inspectorUrl(readFileSync(c.logFile, 'utf8')));
  if (!urls.every(Boolean)) throw new Error('soak: a service printed no inspector address');
  const warmSlice = Math.min(slices - 1, Math.ceil(slices / 3) - 1);
  const timeline: Array<Record<string, number>> = [];
  let bad = 0;
  let total = 0;
  for (let i = 0; i < slices; i++) {
    const run = await runJson(target.endpoint, CONNECTIONS, 10);
    bad += run.non2xx + run.errors + run.timeouts + run.mismatches;
    total += run.requests;
    const row: Record<string, number> = { t_s: (i + 1) * 10, rps: round(run.rps, 0) };
    for (const child of services) row[`${child.name}_rss_mb`] = round0(memoryMb(child.pid).rss);
    // Twice only, a third in and at the end: a forced full GC also shrinks the heap, and RSS with
    // it for a while, which would hide what the slices in between show.
    if (i === warmSlice || i === slices - 1) {
      for (const [s, child] of services.entries()) {
        const heap = await liveHeap(urls[s] as string);
        row[`${child.name}_live_heap_mb`] = round(heap.usedMb, 1);
        row[`${child.name}_live_buffers_mb`] = round(heap.backingMb, 1);
      }
    }
    timeline.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  // RSS from the second slice on (the first holds start-up: JIT, pools, connections filling); the
  // live heap from a third in.
  const last = timeline[timeline.length - 1];
  const growth = (suffix: string, from: Record<string, number> | undefined) =>
    Object.fromEntries(
      Object.keys(last ?? {})
        .filter((k) => k.endsWith(suffix))
        .map((k) => [k, round((last?.[k] ?? 0) - (from?.[k] ?? 0), 1)]),
    );
  const first = timeline[1] ?? timeline[0];
  const warm = timeline[warmSlice];
  const report = {
    generated_at: new Date().toISOString(),
    target: labelOf(target.id),
    seconds: slices * 10,
    connections: CONNECTIONS,
    requests: total,
    failed: bad,
    timeline,
    peak_rss_mb: Object.fromEntries(services.map((c) => [c.name, round0(c.peakRssMb)])),
    growth_mb: {
      ...growth('_rss_mb', first),
      ...growth('_live_heap_mb', warm),
      ...growth('_live_buffers_mb', warm),
    },
  };
  const out = flags.out ?? join(logDir, 'soak-results.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`growth: ${JSON.stringify(report.growth_mb)}\nwrote ${out}\n`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    await stopAll();
    await cleanRedis();
    process.exit(1);
  },
);
