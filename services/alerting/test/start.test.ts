import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { freePort, RATE_LIMITS_OFF, type ServiceProcess, startService } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dueDigest } from '../src/digest/schedule';
import { type HttpSink, type SmtpSink, startHttpSink, startSmtpSink, waitFor } from './helpers/receivers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const INTERNAL_TOKEN = 'alerting-test-internal-token-0123456789';
const JWT_SECRET = 'alerting-test-jwt-secret-0123456789abcdef-0123';
const API_KEY = 'xai-test-key';
const SLACK = '/services/T1/B1/slack-webhook-secret';
const HOOK = '/alert-hook';

const RULES = `
rules:
  - name: HighTokenUsage
    severity: critical
    signal: ai_tokens_last_hour
    threshold: 300
    resolve_threshold: 250
    for: 0s
    labels: { team: platform }
    summary: "AI token usage in the last hour is {{value}}, above {{threshold}}"
  - name: ElevatedTokenUsage
    severity: warning
    signal: ai_tokens_last_hour
    threshold: 150
    resolve_threshold: 100
    summary: "AI token usage in the last hour is {{value}}, above the warning level {{threshold}}"
  - name: HighErrorRate
    severity: critical
    signal: gateway_error_rate
    window: 2m
    min_requests: 5
    threshold: 0.5
    resolve_threshold: 0.2
    summary: "{{value}} of gateway responses were 5xx"
  - name: ServiceDown
    severity: critical
    signal: service_health_failures
    comparison: ">="
    threshold: 3
    resolve_threshold: 0
    summary: "{{labels.service}} failed {{value}} in a row"
`;

function jwt(sub: string, role: 'user' | 'admin'): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, role, iat: now, exp: now + 600 })}`;
  return `${head}.${createHmac('sha256', JWT_SECRET).update(head).digest('base64url')}`;
}

interface AlertJson {
  name: string;
  state: string;
  value: number;
  silenced: boolean;
  labels: Record<string, string>;
}

describe('alerting cluster: two replicas on one Redis, watching a real gateway and ai-proxy', () => {
  const prefix = `flashcase-test:alerting:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  let dir: string;
  let fake: FakeOpenAI;
  let smtp: SmtpSink;
  let http: HttpSink;
  let aiProxy: ServiceProcess;
  let gateway: ServiceProcess;
  let replicas: ServiceProcess[] = [];
  let aiProxyEnv: Record<string, string>;
  let silenceId: string;
  const user = jwt('student-1', 'user');
  const admin = jwt('ops', 'admin');

  const slackFor = (name: string, status = 'FIRING') =>
    http
      .on(SLACK)
      .filter((r) => String(r.body.text).includes(`[${status}`) && String(r.body.text).includes(`] ${name} (`));
  const hookFor = (name: string, status: string) =>
    http.on(HOOK).filter((r) => r.body.name === name && r.body.status === status);
  const mailsFor = (name: string, status = 'FIRING') =>
    smtp.mails.filter((m) => m.subject.startsWith(`[${status}`) && m.subject.includes(`] ${name} (`));

  async function alerts(replica: ServiceProcess): Promise<AlertJson[]> {
    const res = await fetch(`${replica.base}/api/v1/alerts`, { headers: { 'x-internal-token': INTERNAL_TOKEN } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { alerts: AlertJson[] }).alerts;
  }

  async function alertNamed(replica: ServiceProcess, name: string): Promise<AlertJson | undefined> {
    return (await alerts(replica)).find((a) => a.name === name);
  }

  async function role(replica: ServiceProcess): Promise<string> {
    const res = await fetch(`${replica.base}/api/v1/health`);
    return ((await res.json()) as { checks: { evaluator: { role: string } } }).checks.evaluator.role;
  }

  async function chat(): Promise<number> {
    const res = await fetch(`${gateway.base}/api/v1/ai/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'What is ATP?' }] }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  async function lightRequest(): Promise<void> {
    const res = await fetch(`${gateway.base}/api/v1/ai/health`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flashcase-alerting-'));
    const rulesFile = join(dir, 'rules.yaml');
    await writeFile(rulesFile, RULES);
    [fake, smtp, http] = await Promise.all([
      startFakeOpenAI({ apiKey: API_KEY, replyTokens: 40 }),
      startSmtpSink(),
      startHttpSink(),
    ]);
    const common = {
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      INTERNAL_TOKEN,
      JWT_SECRET,
      LOG_LEVEL: 'info',
      ...RATE_LIMITS_OFF,
    };
    aiProxyEnv = { ...common, XAI_API_KEY: API_KEY, XAI_BASE_URL: fake.url, AI_UPSTREAM_TIMEOUT_MS: '5000' };
    const alertingPort = await freePort();
    aiProxy = await startService('ai-proxy', aiProxyEnv);
    gateway = await startService('gateway', {
      ...common,
      AI_PROXY_URL: aiProxy.base,
      ALERTING_URL: `http://127.0.0.1:${alertingPort}`,
    });
    const alertingEnv = {
      ...common,
      GATEWAY_URL: gateway.base,
      AI_PROXY_URL: aiProxy.base,
      ALERT_RULES_FILE: rulesFile,
      ALERT_EVAL_INTERVAL_S: '1',
      HEALTH_CHECK_INTERVAL_S: '1',
      ALERT_GROUP_WAIT_S: '1',
      ALERT_GROUP_INTERVAL_S: '2',
      ALERT_REPEAT_INTERVAL_S: '3600',
      SLACK_WEBHOOK_URL: `${http.base}${SLACK}`,
      ALERT_WEBHOOK_URL: `${http.base}${HOOK}`,
      SMTP_URL: smtp.url,
      ALERT_EMAIL: 'oncall@flashcase.test',
      ALERT_EMAIL_FROM: 'FlashCase Alerts <alerts@flashcase.test>',
    };
    replicas = await Promise.all([
      startService('alerting', alertingEnv, { port: alertingPort }),
      startService('alerting', alertingEnv),
    ]);
    await waitFor('one replica to lead', async () => (await Promise.all(replicas.map(role))).includes('leader'));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...replicas, gateway, aiProxy].filter(Boolean).map((p) => p.stop()));
    await Promise.all([fake?.close(), smtp?.close(), http?.close()]);
    await rm(dir, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  // On a failure, show what the alerting replicas said about signals and state changes.
  const everyReplica: ServiceProcess[] = [];
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const [i, replica] of everyReplica.entries()) {
        const lines = replica
          .output()
          .split('\n')
          .filter((line) => /Signal|Alert |evaluator|Notification/.test(line));
        console.log(`--- alerting replica ${i} ---\n${lines.slice(-60).join('\n')}`);
      }
    });
  });

  it('elects exactly one evaluator among the replicas', async () => {
    everyReplica.push(...replicas);
    expect((await Promise.all(replicas.map(role))).sort()).toEqual(['follower', 'leader']);
  });

  // USAGE_DIGEST_HOUR is 8 (the default) in UTC: on this fresh store the latest digest due is owed.
  const digestDate = dueDigest(Date.now(), 8, 'UTC').date;
  const digests = () => ({
    slack: http.on(SLACK).filter((r) => String(r.body.text).includes(`FlashCase usage digest ${digestDate} `)),
    mail: smtp.mails.filter((m) => m.subject.startsWith(`FlashCase usage digest ${digestDate} `)),
  });

  it('sends the usage digest it owes once at start-up, to Slack and email, from one of the two replicas', async () => {
    await waitFor('the usage digest', () => digests().slack.length === 1 && digests().mail.length === 1);
    expect(http.on(HOOK).filter((r) => JSON.stringify(r.body).includes('usage digest'))).toEqual([]);
    const lines = replicas.map((r) => r.output().includes(`Usage digest ${digestDate} claimed`));
    expect(lines.filter(Boolean)).toHaveLength(1);
  });

  it('sends nothing new while the gateway error rate flaps inside the hysteresis band', async () => {
    fake.setBehavior({ kind: 'status', status: 500 });
    for (let i = 0; i < 6; i++) expect(await chat()).toBe(502);
    await waitFor('HighErrorRate on Slack', () => slackFor('HighErrorRate').length === 1);
    // 6/12 = 0.50, 8/14 = 0.57, 8/18 = 0.44: around the 0.5 threshold, always above the 0.2 resolve level
    const steps: Array<[errors: number, successes: number, rate: number]> = [
      [0, 6, 6 / 12],
      [2, 0, 8 / 14],
      [0, 4, 8 / 18],
    ];
    for (const [errors, successes, rate] of steps) {
      for (let i = 0; i < errors; i++) expect(await chat()).toBe(502);
      for (let i = 0; i < successes; i++) await lightRequest();
      await waitFor(`error rate ${rate.toFixed(3)} evaluated`, async () => {
        const alert = await alertNamed(replicas[0] as ServiceProcess, 'HighErrorRate');
        return alert !== undefined && Math.abs(alert.value - rate) < 0.001;
      });
      expect((await alertNamed(replicas[1] as ServiceProcess, 'HighErrorRate'))?.state).toBe('firing');
    }
    await sleep(2_500);
    expect(slackFor('HighErrorRate')).toHaveLength(1);
    expect(slackFor('HighErrorRate', 'RESOLVED')).toHaveLength(0);
    expect(mailsFor('HighErrorRate')).toHaveLength(1);
    fake.setBehavior({ kind: 'ok' });
  });

  it('fires HighTokenUsage once across both replicas: one mail, one Slack payload, one webhook call', async () => {
    // Silenced through the gateway (admin JWT), before the traffic starts.
    const res = await fetch(`${gateway.base}/api/v1/alerts/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchers: { name: 'ElevatedTokenUsage' }, duration_s: 600, comment: 'known load test' }),
    });
    expect(res.status).toBe(201);
    silenceId = ((await res.json()) as { id: string }).id;

    let tokens = 0;
    while (tokens <= 300) {
      expect(await chat()).toBe(200);
      const usage = await fetch(`${aiProxy.base}/api/v1/ai/usage`, {
        headers: { 'x-internal-token': INTERNAL_TOKEN, 'x-flashcase-user-id': 'ops', 'x-flashcase-user-role': 'admin' },
      });
      tokens = ((await usage.json()) as { last_hour: { total_tokens: number } }).last_hour.total_tokens;
    }
    await waitFor(
      'the HighTokenUsage mail and Slack message',
      () => mailsFor('HighTokenUsage').length === 1 && slackFor('HighTokenUsage').length === 1,
    );
    // Several evaluations and group intervals later, still exactly one of each.
    await sleep(5_000);
    expect(mailsFor('HighTokenUsage')).toHaveLength(1);
    expect(slackFor('HighTokenUsage')).toHaveLength(1);
    expect(hookFor('HighTokenUsage', 'firing')).toHaveLength(1);
    const mail = mailsFor('HighTokenUsage')[0];
    expect(mail?.subject).toBe('[FIRING:1] HighTokenUsage (critical)');
    expect(mail?.to).toEqual(['oncall@flashcase.test']);
    const slack = JSON.stringify(slackFor('HighTokenUsage')[0]?.body);
    expect(slack).toContain('AI token usage in the last hour is');
    expect(slack).toContain('vs threshold 300 tokens');
    expect(slack).toContain('docs/runbook.md#hightokenusage');

    // Both replicas answer from the shared state; the gateway forwards the read for an admin.
    for (const replica of replicas) {
      const high = await alertNamed(replica, 'HighTokenUsage');
      expect(high).toMatchObject({ state: 'firing', labels: { team: 'platform' }, silenced: false });
      expect(high?.value).toBeGreaterThan(300);
    }
    const viaGateway = await fetch(`${gateway.base}/api/v1/alerts`, { headers: { authorization: `Bearer ${admin}` } });
    expect(viaGateway.status).toBe(200);
    const listed = ((await viaGateway.json()) as { alerts: AlertJson[] }).alerts;
    expect(listed.find((a) => a.name === 'HighTokenUsage')?.state).toBe('firing');
    const forbidden = await fetch(`${gateway.base}/api/v1/alerts`, { headers: { authorization: `Bearer ${user}` } });
    expect(forbidden.status).toBe(403);

    // The monitor script against the real gateway shows the same state.
    const monitor = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'bash',
        [join(__dirname, '../../../scripts/monitor-ai-usage.sh'), '--once'],
        { env: { PATH: process.env.PATH, GATEWAY_URL: gateway.base, FLASHCASE_TOKEN: admin }, timeout: 15_000 },
        (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
      );
    });
    expect(monitor.code).toBe(0);
    expect(monitor.stdout).toMatch(/tokens last hour: \d+ \/ \d+/);
    expect(monitor.stdout).toContain('HighTokenUsage(critical)');
    expect(monitor.stdout).toContain('ElevatedTokenUsage(warning, silenced)');
  });

  it('sends nothing for a silenced alert, and notifies once the silence is removed', async () => {
    const elevated = await alertNamed(replicas[1] as ServiceProcess, 'ElevatedTokenUsage');
    expect(elevated).toMatchObject({ state: 'firing', silenced: true });
    expect(slackFor('ElevatedTokenUsage')).toHaveLength(0);
    expect(hookFor('ElevatedTokenUsage', 'firing')).toHaveLength(0);

    const del = await fetch(`${replicas[1]?.base}/api/v1/alerts/silences/${silenceId}`, {
      method: 'DELETE',
      headers: { 'x-internal-token': INTERNAL_TOKEN },
    });
    expect(del.status).toBe(204);
    await waitFor('ElevatedTokenUsage on Slack', () => slackFor('ElevatedTokenUsage').length === 1);
    await sleep(2_500);
    expect(slackFor('ElevatedTokenUsage')).toHaveLength(1);
    // a warning goes to Slack and the webhook, never to email
    expect(hookFor('ElevatedTokenUsage', 'firing')).toHaveLength(1);
    expect(mailsFor('ElevatedTokenUsage')).toHaveLength(0);
    const again = await fetch(`${replicas[1]?.base}/api/v1/alerts/silences/${silenceId}`, {
      method: 'DELETE',
      headers: { 'x-internal-token': INTERNAL_TOKEN },
    });
    expect(again.status).toBe(404);
  });

  it('hands over to the other replica when the leader is killed, without a duplicate notification', async () => {
    const roles = await Promise.all(replicas.map(role));
    const leader = replicas[roles.indexOf('leader')] as ServiceProcess;
    const follower = replicas[roles.indexOf('follower')] as ServiceProcess;
    const before = http.requests.length + smtp.mails.length;
    await leader.kill();
    replicas = [follower];
    // The lease (5 s TTL at a 1 s interval) expires, and the follower takes over.
    await waitFor('the follower to take over', async () => (await role(follower)) === 'leader', 10_000);
    await sleep(3_000);
    expect(http.requests.length + smtp.mails.length).toBe(before);
    expect(mailsFor('HighTokenUsage')).toHaveLength(1);
    expect(slackFor('HighTokenUsage')).toHaveLength(1);
    expect((await alertNamed(follower, 'HighTokenUsage'))?.state).toBe('firing');
  });

  it('fires ServiceDown after 3 failed health checks of a killed ai-proxy, and resolves when it is back', async () => {
    const [survivor] = replicas as [ServiceProcess];
    await aiProxy.kill();
    await waitFor('the ServiceDown mail', () => mailsFor('ServiceDown').length === 1, 15_000);
    const down = (await alerts(survivor)).find((a) => a.name === 'ServiceDown' && a.state === 'firing');
    expect(down?.labels).toEqual({ service: 'ai-proxy' });
    expect(down?.value).toBeGreaterThanOrEqual(3);
    expect(slackFor('ServiceDown')).toHaveLength(1);
    // the token signal is unreadable meanwhile: HighTokenUsage neither resolves nor repeats
    expect((await alertNamed(survivor, 'HighTokenUsage'))?.state).toBe('firing');

    aiProxy = await startService('ai-proxy', aiProxyEnv, { port: aiProxy.port });
    await waitFor(
      'the ServiceDown resolved messages',
      () => mailsFor('ServiceDown', 'RESOLVED').length === 1 && slackFor('ServiceDown', 'RESOLVED').length === 1,
      15_000,
    );
    expect(hookFor('ServiceDown', 'resolved')).toHaveLength(1);
    expect(mailsFor('ServiceDown')).toHaveLength(1);
    expect(mailsFor('HighTokenUsage')).toHaveLength(1);
    expect(survivor.output()).not.toContain('slack-webhook-secret');
  });

  it('never sent the usage digest twice: not after the failover, nor around the restarted ai-proxy', () => {
    expect(digests().slack).toHaveLength(1);
    expect(digests().mail).toHaveLength(1);
  });
});
