import { getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmailChannel, SlackChannel, WebhookChannel } from '../../src/notify/channels';
import { backoffMs, Dispatcher } from '../../src/notify/dispatcher';
import type { Notification } from '../../src/notify/notification';
import { type HttpSink, type SmtpSink, startHttpSink, startSmtpSink } from '../helpers/receivers';

const SLACK_PATH = '/services/T000/B000/slack-secret-path';
const HOOK_PATH = '/hooks/alerts?token=webhook-secret-token';

function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: 'HighTokenUsage:critical:1767268800000:1',
    groupKey: 'HighTokenUsage:critical',
    name: 'HighTokenUsage',
    severity: 'critical',
    status: 'firing',
    repeat: false,
    signal: 'ai_tokens_last_hour',
    createdAt: '2026-01-01T12:00:00.000Z',
    firing: [
      {
        name: 'HighTokenUsage',
        severity: 'critical',
        state: 'firing',
        value: 123_456,
        threshold: 100_000,
        resolve_threshold: 90_000,
        labels: { team: 'platform' },
        started_at: '2026-01-01T11:58:00.000Z',
        fired_at: '2026-01-01T11:59:00.000Z',
        resolved_at: null,
        summary: 'AI token usage in the last hour is 123,456 tokens, above the limit of 100,000 tokens',
        runbook_url: 'https://runbooks.example/flashcase#hightokenusage',
        fingerprint: 'HighTokenUsage:abc',
        silenced: false,
      },
    ],
    resolved: [],
    ...overrides,
  };
}

describe('notification channels against real loopback servers', () => {
  let smtp: SmtpSink;
  let http: HttpSink;
  const logs = new LineCapture();
  const meters = testMeters();

  beforeAll(async () => {
    setupLogging({ environment: 'test', stream: logs, otlp: false });
    smtp = await startSmtpSink();
    http = await startHttpSink();
  });

  afterAll(async () => {
    await smtp.close();
    await http.close();
    await meters.shutdown();
  });

  afterEach(() => {
    smtp.mails.length = 0;
    http.requests.length = 0;
    http.attempts.length = 0;
  });

  function dispatcher(retry = { attempts: 3, baseDelayMs: 200, maxDelayMs: 1_000, timeoutMs: 1_000 }) {
    const instruments = { alertNotifications: meters.meter.createCounter('flashcase.alert.notifications') };
    return new Dispatcher({
      channels: [
        new SlackChannel(`${http.base}${SLACK_PATH}`),
        new EmailChannel({
          smtpUrl: smtp.url,
          from: 'FlashCase <alerts@flashcase.test>',
          to: ['oncall@flashcase.test', 'ops@flashcase.test'],
        }),
        new WebhookChannel(`${http.base}${HOOK_PATH}`),
      ],
      log: getLogger('alerting.notify'),
      instruments,
      retry,
    });
  }

  it('routes a critical notification to Slack, email and the webhook, each once', async () => {
    const d = dispatcher();
    const report = await d.dispatch(notification());
    expect(report).toEqual({ slack: 'sent', email: 'sent', webhook: 'sent' });
    expect(http.on(SLACK_PATH)).toHaveLength(1);
    expect(http.on(HOOK_PATH)).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    await d.close();
  });

  it('routes a warning to Slack and the webhook only', async () => {
    const d = dispatcher();
    const report = await d.dispatch(notification({ severity: 'warning', name: 'ElevatedTokenUsage' }));
    expect(report).toEqual({ slack: 'sent', webhook: 'sent' });
    expect(smtp.mails).toHaveLength(0);
    await d.close();
  });

  it('writes a readable Slack message: severity, summary, value vs threshold, runbook link, FIRING/RESOLVED', async () => {
    const d = dispatcher();
    await d.dispatch(notification());
    const body = http.on(SLACK_PATH)[0]?.body as { text: string; blocks: Array<Record<string, unknown>> };
    const all = JSON.stringify(body);
    expect(body.text).toContain('[FIRING:1] HighTokenUsage (critical)');
    expect(all).toContain('FIRING: HighTokenUsage');
    expect(all).toContain('*critical*');
    expect(all).toContain('AI token usage in the last hour is 123,456 tokens');
    expect(all).toContain('value 123,456 tokens vs threshold 100,000 tokens');
    expect(all).toContain('<https://runbooks.example/flashcase#hightokenusage|Runbook>');
    const resolved = notification({
      status: 'resolved',
      firing: [],
      resolved: notification().firing.map((a) => ({ ...a, state: 'resolved' as const })),
    });
    await d.dispatch(resolved);
    const second = http.on(SLACK_PATH)[1]?.body as { text: string };
    expect(second.text).toContain('[RESOLVED] HighTokenUsage (critical)');
    expect(JSON.stringify(second)).toContain('RESOLVED: HighTokenUsage');
    await d.close();
  });

  it('mails every recipient from ALERT_EMAIL_FROM with the title as subject and the details in the body', async () => {
    const d = dispatcher();
    await d.dispatch(notification());
    const [mail] = smtp.mails;
    expect(mail?.from).toBe('alerts@flashcase.test');
    expect(mail?.to.sort()).toEqual(['oncall@flashcase.test', 'ops@flashcase.test']);
    expect(mail?.subject).toBe('[FIRING:1] HighTokenUsage (critical)');
    const body = mail?.raw.replace(/=\r?\n/g, '') ?? '';
    expect(body).toContain('value 123,456 tokens vs threshold 100,000 tokens');
    expect(body).toContain('runbook: https://runbooks.example/flashcase#hightokenusage');
    await d.close();
  });

  it('sends the webhook a JSON document with status, group and the alerts', async () => {
    const d = dispatcher();
    await d.dispatch(notification());
    expect(http.on(HOOK_PATH)[0]?.body).toMatchObject({
      version: '1',
      status: 'firing',
      group_key: 'HighTokenUsage:critical',
      name: 'HighTokenUsage',
      severity: 'critical',
      alerts: [{ name: 'HighTokenUsage', state: 'firing', value: 123_456, threshold: 100_000 }],
    });
    await d.close();
  });

  it('retries a failing channel with exponential backoff and counts every outcome', async () => {
    http.script(HOOK_PATH, [503, 500]);
    smtp.failNext(1);
    const d = dispatcher({ attempts: 4, baseDelayMs: 200, maxDelayMs: 2_000, timeoutMs: 1_000 });
    const report = await d.dispatch(notification());
    expect(report).toEqual({ slack: 'sent', email: 'sent', webhook: 'sent' });
    const tries = http.attempts.filter((a) => a.path === HOOK_PATH);
    expect(tries.map((t) => t.answer)).toEqual([503, 500, 200]);
    const at = tries.map((t) => t.at);
    const gaps = [(at[1] ?? 0) - (at[0] ?? 0), (at[2] ?? 0) - (at[1] ?? 0)];
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(gaps[1]).toBeGreaterThan(gaps[0] as number);
    expect(smtp.mails).toHaveLength(1);
    const counted = (await meters.points()).filter((p) => p.name === 'flashcase.alert.notifications');
    const value = (channel: string, outcome: string) =>
      counted.find((p) => p.attributes.channel === channel && p.attributes.outcome === outcome)?.value ?? 0;
    expect(value('webhook', 'retried')).toBeGreaterThanOrEqual(2);
    expect(value('email', 'retried')).toBeGreaterThanOrEqual(1);
    expect(value('slack', 'sent')).toBeGreaterThanOrEqual(1);
    await d.close();
  });

  it('gives up after the last try, reports the failure, and does not retry a permanent refusal', async () => {
    http.script(HOOK_PATH, [500, 500, 500]);
    http.script(SLACK_PATH, [404]);
    const d = dispatcher({ attempts: 3, baseDelayMs: 50, maxDelayMs: 100, timeoutMs: 1_000 });
    const report = await d.dispatch(notification());
    expect(report).toEqual({ slack: 'failed', email: 'sent', webhook: 'failed' });
    expect(http.attempts.filter((a) => a.path === HOOK_PATH)).toHaveLength(3);
    expect(http.attempts.filter((a) => a.path === SLACK_PATH)).toHaveLength(1);
    const failed = (await meters.points()).find(
      (p) =>
        p.name === 'flashcase.alert.notifications' &&
        p.attributes.channel === 'webhook' &&
        p.attributes.outcome === 'failed',
    );
    expect(failed?.value).toBeGreaterThanOrEqual(1);
    await d.close();
  });

  it('does not let a hanging channel delay the others', async () => {
    http.script(HOOK_PATH, ['hang', 'hang']);
    const d = dispatcher({ attempts: 2, baseDelayMs: 100, maxDelayMs: 100, timeoutMs: 1_500 });
    const started = Date.now();
    const done = d.dispatch(notification());
    await expect.poll(() => http.on(SLACK_PATH).length + smtp.mails.length, { timeout: 1_000, interval: 20 }).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
    const report = await done;
    expect(report).toEqual({ slack: 'sent', email: 'sent', webhook: 'failed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    await d.close();
  });

  it('survives an unreachable SMTP server and Slack endpoint without throwing', async () => {
    const d = new Dispatcher({
      channels: [
        new SlackChannel('http://127.0.0.1:1/services/never'),
        new EmailChannel({
          smtpUrl: 'smtp://user:smtp-password-secret@127.0.0.1:1',
          from: 'a@b.test',
          to: ['c@d.test'],
        }),
      ],
      log: getLogger('alerting.notify'),
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10, timeoutMs: 1_000 },
    });
    await expect(d.dispatch(notification())).resolves.toEqual({ slack: 'failed', email: 'failed' });
    await d.close();
  });

  it('never logs a webhook URL or an SMTP password', () => {
    const text = logs.lines.join('\n');
    expect(text).toContain('failed');
    for (const secret of ['slack-secret-path', 'webhook-secret-token', 'smtp-password-secret', '/services/never']) {
      expect(text).not.toContain(secret);
    }
  });

  it('doubles the wait between tries up to the cap', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 3_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(policy, n))).toEqual([500, 1_000, 2_000, 3_000, 3_000]);
  });
});
