import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoPath } from './helpers/repo';
import { requireBinary } from './helpers/stack';

interface Receiver {
  name: string;
  slack_configs?: Array<{ channel?: string; send_resolved?: boolean }>;
  email_configs?: Array<{ to: string }>;
}
interface AlertmanagerConfig {
  global: Record<string, unknown>;
  route: { receiver: string; group_by: string[]; group_wait: string; group_interval: string; repeat_interval: string };
  receivers: Receiver[];
}

const dir = mkdtempSync(join(tmpdir(), 'flashcase-alertmanager-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let renders = 0;

/** Runs infra/alertmanager/render-config.sh (as the container's entrypoint does) with `env`. */
function render(env: Record<string, string>): { file: string; config: AlertmanagerConfig } {
  renders += 1;
  const file = join(dir, `alertmanager-${renders}.yml`);
  execFileSync('sh', [repoPath('infra/alertmanager/render-config.sh')], {
    env: { PATH: process.env.PATH, ALERTMANAGER_CONFIG_OUT: file, ...env },
    stdio: 'pipe',
  });
  return { file, config: parse(readFileSync(file, 'utf8')) as AlertmanagerConfig };
}

function amtool(...args: string[]): string {
  requireBinary('amtool', 'prometheus-alertmanager');
  return execFileSync('amtool', args, { encoding: 'utf8', stdio: 'pipe' });
}

const ALL_CHANNELS = {
  ALERTMANAGER_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/it's-secret",
  ALERTMANAGER_SLACK_CHANNEL: '#flashcase-alerts',
  ALERTMANAGER_EMAIL_TO: 'oncall@example.com',
  ALERTMANAGER_EMAIL_FROM: 'alerts@example.com',
  ALERTMANAGER_SMTP_URL: 'smtp://mailer%40example.com:p%40ss%3Aword@smtp.example.com:587',
};

describe('Alertmanager configuration', () => {
  it('is valid with no channel configured (receivers that send nothing)', () => {
    const { file, config } = render({});
    expect(amtool('check-config', file)).toContain('SUCCESS');
    for (const receiver of config.receivers) {
      expect(receiver.slack_configs, receiver.name).toBeUndefined();
      expect(receiver.email_configs, receiver.name).toBeUndefined();
    }
  });

  it('sends critical alerts to Slack and email, warnings to Slack only', () => {
    const { file, config } = render(ALL_CHANNELS);
    expect(amtool('check-config', file)).toContain('SUCCESS');
    const route = (labels: string[]) => amtool('config', 'routes', 'test', `--config.file=${file}`, ...labels).trim();
    expect(route(['alertname=HighTokenUsage', 'severity=critical'])).toBe('critical');
    expect(route(['alertname=HighMemoryUsage', 'severity=warning'])).toBe('warning');
    const critical = config.receivers.find((receiver) => receiver.name === 'critical');
    const warning = config.receivers.find((receiver) => receiver.name === 'warning');
    expect(critical?.slack_configs?.[0]).toMatchObject({ channel: '#flashcase-alerts', send_resolved: true });
    expect(critical?.email_configs?.[0]?.to).toBe('oncall@example.com');
    expect(warning?.slack_configs?.length).toBe(1);
    expect(warning?.email_configs).toBeUndefined();
  });

  it('takes the Slack webhook and the SMTP server from the environment, verbatim', () => {
    const { config } = render(ALL_CHANNELS);
    expect(config.global).toMatchObject({
      slack_api_url: ALL_CHANNELS.ALERTMANAGER_SLACK_WEBHOOK_URL,
      smtp_smarthost: 'smtp.example.com:587',
      smtp_from: 'alerts@example.com',
      smtp_auth_username: 'mailer@example.com',
      smtp_auth_password: 'p@ss:word',
      smtp_require_tls: true,
    });
    const tls = render({ ...ALL_CHANNELS, ALERTMANAGER_SMTP_URL: 'smtps://u:p@mail.example.com' }).config.global;
    expect(tls).toMatchObject({ smtp_smarthost: 'mail.example.com:465', smtp_require_tls: false });
  });

  it('sends no email without an SMTP server', () => {
    const { file, config } = render({ ALERTMANAGER_EMAIL_TO: 'oncall@example.com' });
    expect(amtool('check-config', file)).toContain('SUCCESS');
    expect(config.receivers.every((receiver) => receiver.email_configs === undefined)).toBe(true);
  });

  it('groups by alert name and severity with the alerting service timers', () => {
    expect(render({}).config.route).toMatchObject({
      group_by: ['alertname', 'severity'],
      group_wait: '30s',
      group_interval: '300s',
      repeat_interval: '14400s',
    });
    expect(
      render({ ALERT_GROUP_WAIT_S: '10', ALERT_GROUP_INTERVAL_S: '60', ALERT_REPEAT_INTERVAL_S: '3600' }).config.route,
    ).toMatchObject({ group_wait: '10s', group_interval: '60s', repeat_interval: '3600s' });
  });
});
