/**
 * What Redis spends per AI call under load, on this machine: the input of docs/scaling.md.
 *
 *   node bench/src/redis-capacity.ts [--duration=10] [--connections=50]
 *
 * Starts its own redis-server on a loopback port (nothing else runs on it), the zero-delay fake
 * upstream, and (1) two ai-proxy replicas called directly, (2) a gateway in front of one ai-proxy,
 * every limit on at values nobody reaches (so every check runs), usage tracking on. For each it
 * reads redis-server's CPU time from /proc and INFO commandstats before and after, and prints the
 * calls per second, Redis CPU per 1,000 calls a second (the share of one core), commands per call
 * and Redis's own microseconds per call. Bounded: two runs of --duration seconds, 127.0.0.1 only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICE_NODE_OPTIONS } from '@flashcase/config';
import { Redis } from 'ioredis';
import { type Endpoint, type RunStats, runJson } from './load.ts';
import { type Child, cpuMs, freePort, startChild } from './processes.ts';
import { startRedis } from './redis-server.ts';

const require = createRequire(import.meta.url);
const argument = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const DURATION_S = argument('duration', 10);
const CONNECTIONS = argument('connections', 50);
const INTERNAL_TOKEN = 'capacity-internal-token-0123456789abcdef';
const JWT_SECRET = 'capacity-jwt-secret-0123456789abcdef-0123456789';
const UPSTREAM_KEY = 'xai-capacity';

const logDir = mkdtempSync(join(tmpdir(), 'flashcase-redis-capacity-'));
const children: Child[] = [];

async function commandTotals(client: Redis): Promise<{ calls: number; usec: number }> {
  const text = await client.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const [, name, c, u] of text.matchAll(/^cmdstat_([\w|-]+):calls=(\d+),usec=(\d+)/gm)) {
    if (name === 'info' || name === 'ping') continue;
    calls += Number(c);
    usec += Number(u);
  }
  return { calls, usec };
}

function createJwt(sub: string): string {
  const { createHmac } = require('node:crypto') as typeof import('node:crypto');
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, role: 'user', iat: now, exp: now + 3600 })}`;
  return `${head}.${createHmac('sha256', JWT_SECRET).update(head).digest('base64url')}`;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const cli = require.resolve('@flashcase/fake-openai/cli');
  const upstream = await startChild({
    name: 'upstream',
    args: [cli, '--port', '0', '--latency-ms', '0'],
    ready: /LISTENING (\S+)/,
    logDir,
  });
  children.push(upstream.child);
  const common = {
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    ENVIRONMENT: 'production',
    LOG_LEVEL: 'info',
    LOG_SAMPLE_RATE: '0.01',
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'capacity:',
    INTERNAL_TOKEN,
    JWT_SECRET,
    RATE_LIMIT_AI_PER_MINUTE: '1000000000',
    RATE_LIMIT_AI_PER_HOUR: '1000000000',
    RATE_LIMIT_GENERAL_PER_MINUTE: '1000000000',
    RATE_LIMIT_GENERAL_PER_HOUR: '1000000000',
    XAI_BASE_URL: upstream.value,
    XAI_API_KEY: UPSTREAM_KEY,
  };
  const startService = async (service: 'ai-proxy' | 'gateway', env: Record<string, string>) => {
    const port = await freePort();
    const { child } = await startChild({
      name: `${service}-${port}`,
      args: [require.resolve(`@flashcase/${service}`)],
      ready: new RegExp(`${service} listening`),
      env: { ...common, ...env, PORT: String(port) },
      logDir,
    });
    children.push(child);
    return `http://127.0.0.1:${port}`;
  };
  const replicas = [await startService('ai-proxy', {}), await startService('ai-proxy', {})];
  const gateway = await startService('gateway', { AI_PROXY_URL: replicas[0] as string });

  const users = 20;
  const direct = (base: string, u: number): Endpoint => ({
    url: `${base}/api/v1/ai/chat/completions`,
    headers: { 'x-internal-token': INTERNAL_TOKEN, 'x-flashcase-user-id': `capacity-${u}` },
  });
  const viaGateway = (u: number): Endpoint => ({
    url: `${gateway}/api/v1/ai/chat/completions`,
    headers: { authorization: `Bearer ${createJwt(`capacity-${u}`)}` },
  });

  const scenarios: Array<{ name: string; endpoints: Endpoint[] }> = [
    {
      name: 'AI calls, 2 ai-proxy replicas',
      endpoints: Array.from({ length: users }, (_, u) => direct(replicas[u % 2] as string, u)),
    },
    { name: 'AI calls through the gateway', endpoints: Array.from({ length: users }, (_, u) => viaGateway(u)) },
  ];
  const rows: string[] = [];
  for (const scenario of scenarios) {
    // Warm: scripts loaded, connections open.
    await Promise.all(scenario.endpoints.map((e) => runJson(e, 1, 1)));
    const cpu0 = cpuMs(redis.process.pid as number);
    const stats0 = await commandTotals(client);
    const started = performance.now();
    const perEndpoint = Math.max(1, Math.floor(CONNECTIONS / scenario.endpoints.length));
    const runs: RunStats[] = await Promise.all(scenario.endpoints.map((e) => runJson(e, perEndpoint, DURATION_S)));
    const seconds = (performance.now() - started) / 1000;
    const cpu1 = cpuMs(redis.process.pid as number);
    const stats1 = await commandTotals(client);
    const ok = runs.reduce((sum, r) => sum + r.ok, 0);
    const failed = runs.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts + r.mismatches, 0);
    const rps = ok / seconds;
    const redisCore = (cpu1 - cpu0) / 1000 / seconds;
    const commands = stats1.calls - stats0.calls;
    rows.push(
      [
        scenario.name.padEnd(32),
        `${Math.round(rps)} calls/s`.padStart(14),
        `${failed} failed`.padStart(10),
        `Redis ${(redisCore * 100).toFixed(1)} % of a core`.padStart(24),
        `${((redisCore / rps) * 1000 * 100).toFixed(1)} % of a core per 1,000 calls/s`.padStart(36),
        `${(commands / ok).toFixed(1)} commands/call`.padStart(22),
        `${((stats1.usec - stats0.usec) / ok).toFixed(1)} us in commands/call`.padStart(28),
      ].join(' '),
    );
  }
  const version = String(await client.info('server')).match(/redis_version:(\S+)/)?.[1];
  client.disconnect();
  console.log(
    `Redis ${version}, ${CONNECTIONS} connections, ${DURATION_S} s each, ${new Date().toISOString()}:\n${rows.join('\n')}`,
  );
  redis.stop();
}

try {
  await main();
} finally {
  await Promise.all(children.map((c) => c.stop()));
  rmSync(logDir, { recursive: true, force: true });
}
