import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { deleteKeys, freePort } from '@flashcase/testkit';
import { type Managed, startProcess, waitForHttp } from './processes';
import { deriveLoopbackConfig } from './prometheus';
import { isBuilt, repoPath, type ServiceName } from './repo';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JWT_SECRET = `infra-test-jwt-${randomBytes(16).toString('hex')}`;
const INTERNAL_TOKEN = `infra-test-internal-${randomBytes(16).toString('hex')}`;
const API_KEY = 'xai-infra-test-key';

/** The AI limit per user and minute the suite runs with: low, so a burst meets `ai_per_minute`. */
export const AI_PER_MINUTE = 4;
/** The general limit per user and minute: low, so a burst meets `general_per_minute`. */
export const GENERAL_PER_MINUTE = 8;

export interface ServiceInstance {
  name: ServiceName;
  base: string;
  metrics: string;
  process: Managed;
}

/** A loopback receiver of JSON POSTs (Slack's incoming webhook, the alerting service's webhook). */
export interface Receiver {
  url: string;
  bodies: unknown[];
  close(): Promise<void>;
}

export interface Stack {
  fake: FakeOpenAI;
  gateway: ServiceInstance;
  aiProxies: ServiceInstance[];
  /** Empty when services/alerting is not built (then it is neither started nor scraped). */
  alerting: ServiceInstance[];
  prometheus: string;
  alertmanager: string;
  redisExporter: string;
  slack: Receiver;
  alertWebhook: Receiver;
  /** Every scraped /metrics URL, by Prometheus job. */
  scraped: Record<string, string[]>;
  token(userId: string, role?: 'user' | 'admin'): string;
  stop(): Promise<void>;
}

/** HS256 JWT as the gateway verifies it (`sub`, `role`, `exp`). */
function signToken(userId: string, role: 'user' | 'admin'): string {
  const nowS = Math.floor(Date.now() / 1000);
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: userId, role, iat: nowS, exp: nowS + 3600 })).toString('base64url');
  const signature = createHmac('sha256', JWT_SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

async function startReceiver(): Promise<Receiver> {
  const bodies: unknown[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => {
      try {
        bodies.push(JSON.parse(text));
      } catch {
        bodies.push(text);
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Fails early, with the fix, when a Debian binary the suite needs is missing. */
export function requireBinary(command: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${command} is missing: apt-get install ${debianPackage} (./flashcase test installs it)`);
  }
}

async function startService(
  name: ServiceName,
  env: Record<string, string>,
  ports: { port: number; metricsPort: number },
): Promise<ServiceInstance> {
  const base = `http://127.0.0.1:${ports.port}`;
  // Started the way production starts it: `node services/<name>/dist/main.js`, environment only.
  const child = startProcess(name, process.execPath, [repoPath('services', name, 'dist/main.js')], {
    ...env,
    HOST: '127.0.0.1',
    PORT: String(ports.port),
    METRICS_PORT: String(ports.metricsPort),
  });
  await waitForHttp(child, `${base}/api/v1/health`);
  return { name, base, metrics: `http://127.0.0.1:${ports.metricsPort}/metrics`, process: child };
}

/**
 * Starts, on loopback only: the fake OpenAI upstream, two ai-proxy replicas, the gateway (in front
 * of the first replica), two alerting replicas when services/alerting is built (watching the
 * gateway and the SECOND ai-proxy replica, which the suite stops to fire ServiceDown), a Redis
 * exporter on the suite's Redis, a node exporter, a Slack webhook receiver behind a real Alertmanager (config
 * rendered by infra/alertmanager/render-config.sh) and a real Prometheus running the config derived
 * from infra/prometheus/prometheus.yml. Services use Redis with a key prefix of their own.
 */
export async function startStack(): Promise<Stack> {
  for (const [command, pkg] of [
    ['prometheus', 'prometheus'],
    ['prometheus-alertmanager', 'prometheus-alertmanager'],
    ['prometheus-redis-exporter', 'prometheus-redis-exporter'],
    ['prometheus-node-exporter', 'prometheus-node-exporter'],
  ] as const) {
    requireBinary(command, pkg);
  }
  const dir = mkdtempSync(join(tmpdir(), 'flashcase-infra-'));
  const started: Array<{ stop(): Promise<void> }> = [];
  const receivers: Receiver[] = [];
  const keyPrefix = `flashcase-infra-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const fake = await startFakeOpenAI({ apiKey: API_KEY, record: false });
  const stopAll = async () => {
    await Promise.all(started.map((process) => process.stop()));
    await Promise.all(receivers.map((receiver) => receiver.close()));
    await fake.close();
    await deleteKeys(REDIS_URL, keyPrefix).catch(() => 0);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const slack = await startReceiver();
    const alertWebhook = await startReceiver();
    receivers.push(slack, alertWebhook);
    const port = async () => ({ port: await freePort(), metricsPort: await freePort() });
    const withAlerting = isBuilt('alerting');
    const [gatewayPorts, aiPorts1, aiPorts2, alertingPorts1, alertingPorts2] = await Promise.all([
      port(),
      port(),
      port(),
      port(),
      port(),
    ]);
    const shared = {
      ENVIRONMENT: 'production',
      LOG_LEVEL: 'warn',
      REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      JWT_SECRET,
      INTERNAL_TOKEN,
      AI_PROVIDER: 'xai',
      XAI_API_KEY: API_KEY,
      XAI_BASE_URL: fake.url,
      RATE_LIMIT_AI_PER_MINUTE: String(AI_PER_MINUTE),
      RATE_LIMIT_GENERAL_PER_MINUTE: String(GENERAL_PER_MINUTE),
      // A monthly budget, so ai-proxy exports flashcase_budget_monthly_limit for the budget rules.
      AI_BUDGET_USD_PER_MONTH: '1000',
      GATEWAY_URL: `http://127.0.0.1:${gatewayPorts.port}`,
      ALERTING_URL: `http://127.0.0.1:${alertingPorts1.port}`,
      ALERT_WEBHOOK_URL: alertWebhook.url,
      ALERT_EVAL_INTERVAL_S: '1',
      HEALTH_CHECK_INTERVAL_S: '1',
      ALERT_GROUP_WAIT_S: '1',
      ALERT_GROUP_INTERVAL_S: '1',
    };
    const aiProxies = await Promise.all([aiPorts1, aiPorts2].map((ports) => startService('ai-proxy', shared, ports)));
    for (const instance of aiProxies) started.push(instance.process);
    const [first, second] = aiProxies as [ServiceInstance, ServiceInstance];
    const gateway = await startService('gateway', { ...shared, AI_PROXY_URL: first.base }, gatewayPorts);
    started.push(gateway.process);
    const alerting = withAlerting
      ? await Promise.all(
          [alertingPorts1, alertingPorts2].map((ports) =>
            startService('alerting', { ...shared, AI_PROXY_URL: second.base }, ports),
          ),
        )
      : [];
    for (const instance of alerting) started.push(instance.process);

    const exporterPort = await freePort();
    const exporter = startProcess(
      'redis-exporter',
      'prometheus-redis-exporter',
      ['-redis.addr', REDIS_URL, '-web.listen-address', `127.0.0.1:${exporterPort}`],
      {},
    );
    started.push(exporter);
    const redisExporter = `http://127.0.0.1:${exporterPort}/metrics`;
    // The host's disk and network I/O, as compose's node-exporter reports them (job node).
    const nodeExporterPort = await freePort();
    const nodeExporterProcess = startProcess(
      'node-exporter',
      'prometheus-node-exporter',
      [`--web.listen-address=127.0.0.1:${nodeExporterPort}`, '--log.level=warn'],
      {},
    );
    started.push(nodeExporterProcess);
    const nodeExporter = `http://127.0.0.1:${nodeExporterPort}/metrics`;

    const alertmanagerPort = await freePort();
    const alertmanagerConfig = join(dir, 'alertmanager.yml');
    execFileSync('sh', [repoPath('infra/alertmanager/render-config.sh')], {
      env: {
        PATH: process.env.PATH,
        ALERTMANAGER_CONFIG_OUT: alertmanagerConfig,
        ALERTMANAGER_SLACK_WEBHOOK_URL: slack.url,
        ALERT_GROUP_WAIT_S: '1',
        ALERT_GROUP_INTERVAL_S: '1',
        ALERT_REPEAT_INTERVAL_S: '3600',
      },
    });
    const alertmanagerProcess = startProcess(
      'alertmanager',
      'prometheus-alertmanager',
      [
        `--config.file=${alertmanagerConfig}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        // No gossip listener (it would bind 0.0.0.0:9094): one Alertmanager, loopback only.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      {},
    );
    started.push(alertmanagerProcess);
    const alertmanager = `http://127.0.0.1:${alertmanagerPort}`;

    const prometheusPort = await freePort();
    const metricsTarget = (url: string) => new URL(url).host;
    const scraped: Record<string, string[]> = {
      'flashcase-gateway': [gateway.metrics],
      'flashcase-ai-proxy': aiProxies.map((instance) => instance.metrics),
      'flashcase-alerting': alerting.map((instance) => instance.metrics),
      redis: [redisExporter],
      node: [nodeExporter],
      alertmanager: [`${alertmanager}/metrics`],
      prometheus: [`http://127.0.0.1:${prometheusPort}/metrics`],
    };
    const targets = Object.fromEntries(
      Object.entries(scraped)
        .filter(([, urls]) => urls.length > 0)
        .map(([job, urls]) => [job, urls.map(metricsTarget)]),
    );
    // NOTE: while services/alerting is not built, its job is the one thing left out (scraping only;
    // every other check still runs).
    const configFile = deriveLoopbackConfig({
      targets,
      alertmanager: `127.0.0.1:${alertmanagerPort}`,
      dir,
      skipped: withAlerting ? [] : ['flashcase-alerting'],
    });
    const prometheusProcess = startProcess(
      'prometheus',
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
        '--log.level=warn',
      ],
      {},
    );
    started.push(prometheusProcess);
    const prometheus = `http://127.0.0.1:${prometheusPort}`;
    await Promise.all([
      waitForHttp(exporter, redisExporter),
      waitForHttp(nodeExporterProcess, nodeExporter),
      waitForHttp(alertmanagerProcess, `${alertmanager}/-/ready`),
      waitForHttp(prometheusProcess, `${prometheus}/-/ready`),
    ]);

    return {
      fake,
      gateway,
      aiProxies,
      alerting,
      prometheus,
      alertmanager,
      redisExporter,
      slack,
      alertWebhook,
      scraped,
      token: signToken,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
