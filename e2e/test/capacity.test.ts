import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer, readUntil, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Chain, INTERNAL_TOKEN, startChain, token } from './helpers/chain';
import { measureRedisSteadily as measureRedis, perCall, type RedisCost, total } from './helpers/redis-cost';

/**
 * The capacity model's measured input (docs/scaling.md): what each kind of call costs Redis, read
 * from Redis's own INFO commandstats (every command executed, Lua-called ones included) and MONITOR
 * (the commands the services sent: round trips). A private redis-server, so nothing else counts.
 * Calls run one at a time (no two share a round trip); the same window without calls is subtracted
 * (store health pings, the gauge refresh). Limits are on, at values nobody reaches: every check runs.
 */
const N = 30;
/** Pause after each call, so no two calls' writes share a flush. */
const PACE_MS = 30;

const LIMITS = {
  RATE_LIMIT_AI_PER_MINUTE: '100000',
  RATE_LIMIT_AI_PER_HOUR: '100000',
  RATE_LIMIT_GENERAL_PER_MINUTE: '100000',
  RATE_LIMIT_GENERAL_PER_HOUR: '100000',
};

interface PerCall {
  commands: Record<string, number>;
  sent: Record<string, number>;
}

describe('what each kind of call costs Redis (INFO commandstats)', () => {
  let redis: RedisServer;
  let chain: Chain;
  let alerting: ServiceProcess | undefined;
  const measured: Record<string, PerCall> = {};

  beforeAll(async () => {
    redis = await RedisServer.start(['--appendonly', 'no']);
    chain = await startChain({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'capacity:',
      AI_INFLIGHT_STALE_MS: '600000',
      ...LIMITS,
    });
  }, 60_000);

  afterAll(async () => {
    await alerting?.stop();
    await chain?.stop();
    await redis?.stop();
  });

  async function call(base: string, direct: boolean, stream: boolean, i: number): Promise<void> {
    const headers: Record<string, string> = direct
      ? { 'x-internal-token': INTERNAL_TOKEN, 'x-flashcase-user-id': `student-${i % 5}` }
      : { authorization: `Bearer ${token(`student-${i % 5}`)}` };
    const res = await fetch(`${base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ messages: [{ role: 'user', content: `card ${i}` }], max_tokens: 64, stream }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    if (stream) expect(text).toContain('data: [DONE]');
  }

  /** `n` calls one after another, less a window of the same length without them. */
  async function perCallCost(run: (i: number) => Promise<void>, n = N): Promise<PerCall & { load: RedisCost }> {
    for (let i = 0; i < 5; i++) await run(i); // scripts loaded, connections open, every user seen
    const started = Date.now();
    const load = await measureRedis(redis.url, async () => {
      for (let i = 0; i < n; i++) {
        await run(i);
        // Past the usage record's flush window (5 ms): each call's writes go out alone.
        await sleep(PACE_MS);
      }
    });
    const idle = await measureRedis(redis.url, () => sleep(Date.now() - started));
    return { commands: perCall(load.commands, idle.commands, n), sent: perCall(load.sent, idle.sent, n), load };
  }

  it('an AI call (ai-proxy): one limit script and one usage script, one round trip each', async () => {
    const cost = await perCallCost((i) => call(chain.aiProxies[0]?.base ?? '', true, false, i));
    measured['AI call'] = cost;
    expectCost(cost, EXPECTED.ai);
  });

  it('a streamed AI call costs Redis what a plain one does', async () => {
    const cost = await perCallCost((i) => call(chain.aiProxies[0]?.base ?? '', true, true, i));
    measured['streamed AI call'] = cost;
    // A stream's usage record varies by a few counters from run to run (which fields its batch
    // carries as zero): about +-3 HINCRBY per call over 30 calls.
    expectCost(cost, EXPECTED.stream, { ...TOLERANCE, hincrby: 4 });
  });

  it('a gateway request adds its general limit check; its request stats are flushed once a second, not per request', async () => {
    const cost = await perCallCost((i) => call(chain.gateway.base, false, false, i));
    measured['AI call through the gateway'] = cost;
    const gatewayOnly = {
      commands: perCall(cost.load.commands, {}, 1),
      sent: {} as Record<string, number>,
    };
    for (const side of ['commands', 'sent'] as const) {
      const ai = measured['AI call']?.[side] ?? {};
      const through = cost[side];
      gatewayOnly[side] = Object.fromEntries(
        Object.keys({ ...ai, ...through })
          .map((command) => [command, Math.round(((through[command] ?? 0) - (ai[command] ?? 0)) * 100) / 100] as const)
          .filter(([, value]) => Math.abs(value) >= 0.05),
      );
    }
    measured['gateway request'] = gatewayOnly;
    // The difference of two windows, each with its own once-a-second stats flush and its own usage
    // batches: one flush more or less in a window moves HINCRBY by about 3 a call (seen 12.7-16).
    expectCost(gatewayOnly, EXPECTED.gateway, { ...TOLERANCE, hincrby: 4 });
  });

  it('an alert evaluation by the leader: its lease, its state, and the reads it makes through the services', async () => {
    const windowMs = 6_000;
    const idle = await measureRedis(redis.url, () => sleep(windowMs));
    alerting = await startService('alerting', {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'capacity:',
      INTERNAL_TOKEN,
      GATEWAY_URL: chain.gateway.base,
      AI_PROXY_URL: chain.aiProxies[0]?.base ?? '',
      ALERT_EVAL_INTERVAL_S: '1',
      HEALTH_CHECK_INTERVAL_S: '1',
      ...LIMITS,
    });
    const health = async () =>
      ((await (await fetch(`${alerting?.base}/api/v1/health`)).json()) as { checks: { evaluator?: { role: string } } })
        .checks.evaluator?.role;
    expect(await readUntil(health, (role) => role === 'leader', { timeoutMs: 10_000, intervalMs: 100 })).toBe('leader');
    await sleep(2_500); // its first evaluations load the scripts
    const load = await measureRedis(redis.url, () => sleep(windowMs), { marker: 'evaluator' });
    const evaluations = load.marked;
    expect(evaluations).toBeGreaterThanOrEqual(3);
    const cost = {
      commands: perCall(load.commands, idle.commands, evaluations),
      sent: perCall(load.sent, idle.sent, evaluations),
    };
    measured['alert evaluation'] = cost;
    console.log(
      `Redis cost per call (${N} calls each; alert evaluation over ${evaluations} evaluations):\n${Object.entries(
        measured,
      )
        .map(
          ([kind, c]) =>
            `  ${kind}: ${total(c.commands)} commands ${JSON.stringify(c.commands)}; ${total(c.sent)} sent ${JSON.stringify(c.sent)}`,
        )
        .join('\n')}`,
    );
    // ai-proxy's token gauge (one script of 60 HMGET every 5 s) lands in the load window or the idle
    // one, once or twice in 6 s: over a few evaluations up to 120 / evaluations either way.
    expectCost(cost, EXPECTED.alert, { ...TOLERANCE, hmget: 120 / evaluations + 0.25 });
  });
});

/**
 * Background the subtraction cannot cancel exactly, as it lands in one window or the other:
 * ai-proxy's token gauge (one script of 60 HMGET every 5 s) and the gateway's request stats (HINCRBY,
 * flushed once a second). Per call that is at most ~2 of those; any other command is exact to a
 * quarter of a call's worth.
 */
const TOLERANCE: Record<string, number> = { hmget: 2.5, hincrby: 2.5 };

function expectCost(measured: PerCall, expected: PerCall, tolerance = TOLERANCE): void {
  // Round trips: whole numbers per call.
  const rounded = Object.fromEntries(
    Object.entries(measured.sent)
      .map(([command, value]) => [command, Math.round(value)] as const)
      .filter(([, value]) => value !== 0),
  );
  expect(rounded).toEqual(expected.sent);
  for (const command of new Set([...Object.keys(measured.commands), ...Object.keys(expected.commands)])) {
    const got = measured.commands[command] ?? 0;
    const want = expected.commands[command] ?? 0;
    expect(Math.abs(got - want), `${command}: ${got} per call, expected ${want}`).toBeLessThanOrEqual(
      tolerance[command] ?? 0.25,
    );
  }
}

/**
 * What each kind costs, measured on this code (docs/scaling.md has the table). A change in what a
 * call costs Redis must change these on purpose.
 */
const EXPECTED: Record<'ai' | 'stream' | 'gateway' | 'alert', PerCall> = {
  ai: {
    sent: { evalsha: 2 },
    commands: {
      evalsha: 2,
      time: 2,
      hincrby: 86.5,
      hset: 1,
      hsetnx: 2,
      hdel: 1,
      get: 1,
      set: 1,
      pexpire: 3,
      pexpireat: 2.5,
      zadd: 3,
      zincrby: 6,
      zcard: 2,
      zremrangebyscore: 2,
    },
  },
  stream: {
    sent: { evalsha: 2 },
    commands: {
      evalsha: 2,
      time: 2,
      hincrby: 101.5,
      hset: 1,
      hsetnx: 2,
      hdel: 1,
      get: 1,
      set: 1,
      pexpire: 3,
      pexpireat: 2.5,
      zadd: 3,
      zincrby: 6.2,
      zcard: 2,
      zremrangebyscore: 2,
    },
  },
  gateway: {
    sent: { evalsha: 1 },
    commands: { evalsha: 1, time: 1, hincrby: 12.7, pexpire: 2, zadd: 2, zcard: 2, zremrangebyscore: 2 },
  },
  alert: {
    sent: { evalsha: 11, hgetall: 2, zcard: 1, zrevrangebyscore: 2 },
    commands: {
      evalsha: 11,
      time: 2,
      hmget: 90,
      hgetall: 8,
      zcard: 1,
      zrevrangebyscore: 2,
      smembers: 4,
      sadd: 3,
      get: 4,
      set: 4,
      pexpire: 1,
    },
  },
};
