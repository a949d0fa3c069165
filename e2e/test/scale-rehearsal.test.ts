import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, RedisServer, readUntil, type ServiceProcess, startService } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { API_KEY, INTERNAL_TOKEN, JWT_SECRET, token } from './helpers/chain';

/**
 * The production Deployment's scale on one machine: 4 ai-proxy, 2 gateway and 2 alerting replicas
 * on one Redis, each started as the Deployment starts it (`node dist/main.js` with the rendered
 * overlay's environment: its ConfigMap, its env, the Secret's keys), under loadgen-like traffic for
 * REHEARSAL_SECONDS (60 by default). A round-robin TCP hop per Service stands in for kube-proxy.
 * Midway one ai-proxy is SIGKILLed and the alerting leader SIGTERMed.
 */
const SECONDS = Number(process.env.REHEARSAL_SECONDS ?? 60);
const WORKERS = 8;
const USERS = 400;
/** The heavy user's per-minute AI limit (the others stay far below it). */
const AI_PER_MINUTE = 30;
const STALE_MS = 2_000;

const REPO = join(__dirname, '../..');

/** The ai-proxy, gateway or alerting environment of the rendered production overlay. */
function deploymentEnv(service: string): Record<string, string> {
  const text = execFileSync('kubectl', ['kustomize', join(REPO, 'deploy/kubernetes/overlays/production')], {
    encoding: 'utf8',
  });
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests, read as plain data
  const objects = parseAllDocuments(text).map((doc) => doc.toJS()) as any[];
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === service);
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    Object.assign(env, objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef.name).data);
  }
  const secrets: Record<string, string> = { JWT_SECRET, INTERNAL_TOKEN, XAI_API_KEY: API_KEY };
  for (const variable of container.env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      if (secrets[ref.key] !== undefined) env[variable.name] = secrets[ref.key] as string;
    } else env[variable.name] = variable.value;
  }
  // The command is the Deployment's: node dist/main.js (what startService runs).
  expect(container.command).toEqual(['node', 'dist/main.js']);
  return env;
}

/** A Service: round-robin over live backends; a backend that refuses is left out (endpoint removed). */
class RoundRobin {
  private next = 0;
  private readonly dead = new Set<string>();
  readonly open = new Map<string, Set<Socket>>();
  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
    private readonly backends: () => string[],
  ) {}

  static async start(backends: () => string[]): Promise<RoundRobin> {
    const port = await freePort();
    let self: RoundRobin | undefined;
    const server = createServer((socket) => self?.route(socket, 0));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new RoundRobin(server, `http://127.0.0.1:${port}`, backends);
    return self;
  }

  /** Takes `base` out of rotation (its pod is terminating) and returns its open connections. */
  remove(base: string): number {
    this.dead.add(base);
    return this.open.get(base)?.size ?? 0;
  }

  private route(socket: Socket, attempt: number): void {
    const live = this.backends().filter((b) => !this.dead.has(b));
    const base = live[this.next++ % live.length];
    if (!base || attempt > live.length) return void socket.destroy();
    const { port } = new URL(base);
    const upstream = connect(Number(port), '127.0.0.1');
    const set = this.open.get(base) ?? new Set<Socket>();
    this.open.set(base, set);
    upstream.once('connect', () => {
      set.add(upstream);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.once('error', () => {
      if (!upstream.readyState.includes('open') && !set.has(upstream)) {
        this.dead.add(base);
        this.route(socket, attempt + 1);
      } else socket.destroy();
    });
    upstream.once('close', () => {
      set.delete(upstream);
      socket.destroy();
    });
    socket.once('error', () => upstream.destroy());
    socket.once('close', () => upstream.destroy());
  }

  close(): Promise<void> {
    for (const set of this.open.values()) for (const s of set) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const RULES = `
rules:
  - name: HighTokenUsage
    severity: critical
    signal: ai_tokens_last_hour
    threshold: 3000
    resolve_threshold: 2000
    for: 0s
    summary: "AI token usage in the last hour is {{value}}, above {{threshold}}"
`;

describe(`scale rehearsal: 4 ai-proxy, 2 gateway, 2 alerting on one Redis, ${SECONDS} s`, () => {
  let redis: RedisServer;
  let fake: FakeOpenAI;
  let dir: string;
  let hook: Server;
  const notifications: Array<{ name: string; status: string }> = [];
  const aiProxies: ServiceProcess[] = [];
  const gateways: ServiceProcess[] = [];
  const alertings: ServiceProcess[] = [];
  let aiService: RoundRobin;
  let gatewayService: RoundRobin;
  let alertingService: RoundRobin;

  beforeAll(async () => {
    redis = await RedisServer.start(['--appendonly', 'no']);
    fake = await startFakeOpenAI({ apiKey: API_KEY, latencyMs: 40 });
    dir = await mkdtemp(join(tmpdir(), 'flashcase-rehearsal-'));
    await writeFile(join(dir, 'rules.yaml'), RULES);
    hook = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const payload = JSON.parse(body) as { name: string; status: string };
        notifications.push({ name: payload.name, status: payload.status });
        res.writeHead(200).end();
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((resolve) => hook.listen(hookPort, '127.0.0.1', resolve));
    aiService = await RoundRobin.start(() => aiProxies.map((p) => p.base));
    gatewayService = await RoundRobin.start(() => gateways.map((p) => p.base));
    alertingService = await RoundRobin.start(() => alertings.map((p) => p.base));
    // What differs on one machine: loopback addresses for the Services, the private Redis, the
    // fake upstream, no collector, and the timers shortened so the run shows them.
    const local = {
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      REDIS_URL: redis.url,
      AI_PROXY_URL: aiService.url,
      GATEWAY_URL: gatewayService.url,
      ALERTING_URL: alertingService.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_SDK_DISABLED: 'true',
      LOG_SAMPLE_RATE: '0.01',
      RATE_LIMIT_AI_PER_MINUTE: String(AI_PER_MINUTE),
      RATE_LIMIT_AI_PER_HOUR: '100000',
      RATE_LIMIT_GENERAL_PER_MINUTE: '100000',
      RATE_LIMIT_GENERAL_PER_HOUR: '100000',
    };
    const [aiEnv, gwEnv, alertEnv] = ['ai-proxy', 'gateway', 'alerting'].map(deploymentEnv) as Array<
      Record<string, string>
    >;
    for (let i = 0; i < 4; i++) {
      aiProxies.push(
        await startService('ai-proxy', {
          ...aiEnv,
          ...local,
          XAI_BASE_URL: fake.url,
          AI_INFLIGHT_STALE_MS: String(STALE_MS),
        }),
      );
    }
    for (let i = 0; i < 2; i++) gateways.push(await startService('gateway', { ...gwEnv, ...local }));
    for (let i = 0; i < 2; i++) {
      alertings.push(
        await startService('alerting', {
          ...alertEnv,
          ...local,
          ALERT_RULES_FILE: join(dir, 'rules.yaml'),
          ALERT_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook`,
          ALERT_EVAL_INTERVAL_S: '1',
          HEALTH_CHECK_INTERVAL_S: '5',
          ALERT_GROUP_WAIT_S: '1',
          ALERT_GROUP_INTERVAL_S: '2',
          ALERT_REPEAT_INTERVAL_S: '3600',
        }),
      );
    }
    for (const p of [...aiProxies, ...gateways, ...alertings]) {
      expect(p.output()).toMatch(/^\{"timestamp"/m); // ENVIRONMENT=production: JSON log lines
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...gateways, ...alertings, ...aiProxies].map((p) => p.stop()));
    await Promise.all([aiService?.close(), gatewayService?.close(), alertingService?.close()]);
    await new Promise((resolve) => hook?.close(resolve));
    await fake?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const role = async (p: ServiceProcess) =>
    ((await (await fetch(`${p.base}/api/v1/health`)).json()) as { checks: { evaluator?: { role: string } } }).checks
      .evaluator?.role;

  it(
    'keeps counters and limits exact, notifies once per alert group, and answers no 5xx but the killed replica in-flight calls',
    async () => {
      const started = Date.now();
      const until = started + SECONDS * 1000;
      const userTokens = Array.from({ length: USERS }, (_, u) => token(`rehearsal-${u}`));
      const heavyToken = token('rehearsal-heavy');
      const statuses: Record<number, number> = {};
      const fiveHundreds: Array<{ status: number; code?: string; atMs: number }> = [];
      let okTokens = 0;
      let n = 0;

      async function send(bearer: string, i: number): Promise<{ status: number; tokens: number; code?: string }> {
        const stream = i % 5 < 2; // 40 % streamed, as pnpm loadgen
        const operation = (['chat', 'rewrite', 'autocomplete'] as const)[i % 3];
        const body =
          operation === 'chat' ? { messages: [{ role: 'user', content: `card ${i}` }] } : { text: `card ${i}` };
        try {
          const res = await fetch(`${gatewayService.url}/api/v1/ai/${operation}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
            body: JSON.stringify({ ...body, stream }),
          });
          const text = await res.text();
          if (res.status !== 200) {
            return {
              status: res.status,
              tokens: 0,
              code: (JSON.parse(text) as { error?: { code: string } }).error?.code,
            };
          }
          const done = stream
            ? (JSON.parse(
                text
                  .split('\n\n')
                  .map((e) => e.replace(/^data: /, ''))
                  .find((e) => e.startsWith('{"done"')) ?? '{}',
              ) as { usage?: { total_tokens: number } })
            : (JSON.parse(text) as { usage?: { total_tokens: number } });
          // A stream cut short ends with an in-band error event, no `done`.
          if (done.usage === undefined) return { status: 599, tokens: 0, code: 'stream_cut' };
          return { status: 200, tokens: done.usage.total_tokens };
        } catch {
          return { status: 0, tokens: 0, code: 'network' };
        }
      }

      const record = (outcome: { status: number; tokens: number; code?: string }) => {
        statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
        if (outcome.status === 200) okTokens += outcome.tokens;
        else if (outcome.status >= 500 || outcome.status === 0) {
          fiveHundreds.push({
            status: outcome.status,
            ...(outcome.code ? { code: outcome.code } : {}),
            atMs: Date.now() - started,
          });
        }
      };

      // The heavy user, first: 2x its per-minute limit, over both gateways, before any fault.
      const heavy = await Promise.all(Array.from({ length: AI_PER_MINUTE * 2 }, (_, i) => send(heavyToken, i)));
      const heavyOk = heavy.filter((h) => h.status === 200);
      for (const h of heavyOk) okTokens += h.tokens;
      expect(heavyOk).toHaveLength(AI_PER_MINUTE);
      expect(heavy.filter((h) => h.status === 429 && h.code === 'rate_limited')).toHaveLength(AI_PER_MINUTE);

      let victimConnections = 0;
      let leaderStopped: Promise<number | null> | undefined;
      const faults = (async () => {
        await sleep((SECONDS * 1000) / 2);
        const victim = aiProxies[1] as ServiceProcess;
        // kube-proxy stops routing to a dead pod once its endpoint goes: what was open then was in flight.
        victimConnections = aiService.remove(victim.base);
        await victim.kill();
        const roles = await Promise.all(alertings.map(role));
        const leader = alertings[roles.indexOf('leader')] as ServiceProcess;
        alertingService.remove(leader.base);
        leaderStopped = leader.stop();
      })();

      const worker = async () => {
        while (Date.now() < until) {
          const i = n++;
          record(await send(userTokens[i % USERS] as string, i));
        }
      };
      await Promise.all([...Array.from({ length: WORKERS }, worker), faults]);
      expect(await leaderStopped).toBe(0); // the SIGTERMed leader drained and exited cleanly

      const total = Object.values(statuses).reduce((a, b) => a + b, 0);
      console.log(
        `rehearsal ${SECONDS}s: ${total} calls ${JSON.stringify(statuses)}; 5xx ${JSON.stringify(fiveHundreds)}; victim had ${victimConnections} open; notifications ${JSON.stringify(notifications)}`,
      );
      expect(total).toBeGreaterThan(SECONDS * 10);
      // No 5xx but the killed replica's in-flight calls, all at the kill.
      expect(fiveHundreds.length).toBeLessThanOrEqual(victimConnections);
      for (const failure of fiveHundreds) expect(failure.atMs).toBeGreaterThanOrEqual((SECONDS * 1000) / 2);
      expect(statuses[429] ?? 0).toBe(0); // the other users stayed under their limits

      // Counters exact: every call the upstream served counted once, by a survivor for the victim's.
      const served = () => fake.requests.filter((r) => r.path === '/v1/chat/completions').length;
      const usage = async () =>
        (
          (await (
            await fetch(`${gatewayService.url}/api/v1/ai/usage`, {
              headers: { authorization: `Bearer ${token('ops', 'admin')}` },
            })
          ).json()) as { usage: { total_requests: number; total_tokens: number } }
        ).usage;
      const counted = await readUntil(usage, (u) => u.total_requests >= served(), {
        timeoutMs: STALE_MS * 3 + 5_000,
        intervalMs: 200,
      });
      expect(counted.total_requests).toBe(served());
      expect(counted.total_tokens).toBeGreaterThanOrEqual(okTokens);

      // One notification per alert group, across both alerting replicas and the leader's SIGTERM.
      const survivor = alertings.find((p) => p.child.exitCode === null) as ServiceProcess;
      expect(
        await readUntil(
          () => role(survivor),
          (r) => r === 'leader',
          { timeoutMs: 15_000, intervalMs: 200 },
        ),
      ).toBe('leader');
      await sleep(3_000); // several evaluations and group intervals under the new leader
      expect(notifications.filter((x) => x.name === 'HighTokenUsage' && x.status === 'firing')).toHaveLength(1);
      expect(notifications).toHaveLength(1);
    },
    (SECONDS + 120) * 1000,
  );
});
