import type { SignalName } from '../rules/alert-rule';
import { formatValue } from '../rules/format';
import type { AlertView } from '../state/views';

/** What every channel is given: one group's notification. */
export interface Notification {
  /** `<group key>:<episode>:<seq>`: unique per notification, the same on every retry. */
  id: string;
  groupKey: string;
  name: string;
  severity: 'critical' | 'warning';
  status: 'firing' | 'resolved';
  /** True when an unchanged firing group is sent again after the repeat interval. */
  repeat: boolean;
  firing: AlertView[];
  resolved: AlertView[];
  /** Alerts' signal, to format values. */
  signal: SignalName;
  createdAt: string;
}

/**
 * What a channel sends, already rendered: an alert group's notification or the daily digest.
 * `id` is the same on every retry (the email's `X-FlashCase-Notification`).
 */
export interface Message {
  id: string;
  /** What the log lines call it (`Notification HighTokenUsage:critical:1:1 (firing)`). */
  label: string;
  subject: string;
  /** Plain text: the email body. */
  text: string;
  /** Slack incoming-webhook payload. */
  slack: Record<string, unknown>;
  /** The generic webhook's JSON body. */
  webhook: Record<string, unknown>;
}

/** An alert group's notification, rendered for every channel. */
export function notificationMessage(n: Notification): Message {
  return {
    id: n.id,
    label: `Notification ${n.id} (${n.status})`,
    subject: title(n),
    text: plainText(n),
    slack: slackPayload(n),
    webhook: webhookPayload(n),
  };
}

/** `[FIRING:2] ServiceDown (critical)` / `[RESOLVED] ServiceDown (critical)`. */
export function title(n: Notification): string {
  const status = n.status === 'firing' ? `FIRING:${n.firing.length}` : 'RESOLVED';
  return `[${status}] ${n.name} (${n.severity})`;
}

/** `value 1,234 tokens vs threshold 1,000 tokens (resolves at or below 900 tokens)`. */
export function valueLine(n: Notification, alert: AlertView): string {
  return `value ${formatValue(n.signal, alert.value)} vs threshold ${formatValue(n.signal, alert.threshold)} (resolves at or below ${formatValue(n.signal, alert.resolve_threshold)})`;
}

function labelText(alert: AlertView): string {
  const entries = Object.entries(alert.labels);
  return entries.length === 0 ? '' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** The plain-text body (email, and the Slack fallback): one paragraph per alert. */
export function plainText(n: Notification): string {
  const lines = [title(n), ''];
  const section = (heading: string, alerts: AlertView[], resolved: boolean) => {
    if (alerts.length === 0) return;
    lines.push(heading);
    for (const alert of alerts) {
      lines.push(`- ${alert.summary}`);
      lines.push(`  severity: ${alert.severity}; ${valueLine(n, alert)}`);
      const labels = labelText(alert);
      if (labels) lines.push(`  labels: ${labels}`);
      lines.push(
        `  started: ${alert.started_at}${resolved && alert.resolved_at ? `; resolved: ${alert.resolved_at}` : ''}`,
      );
      lines.push(`  runbook: ${alert.runbook_url}`);
    }
    lines.push('');
  };
  section('Firing:', n.firing, false);
  section('Resolved:', n.resolved, true);
  lines.push(`Notification ${n.id} sent ${n.createdAt} by flashcase-alerting.`);
  return lines.join('\n');
}

const MAX_SLACK_ALERTS = 10;
/** Slack's limit on a section's text is 3,000 characters. */
const MAX_SLACK_SECTION = 2_900;

/** Slack's `<url|text>` only for real links; a relative runbook path is shown as code. */
function slackLink(url: string): string {
  return /^https?:\/\//.test(url) ? `<${url}|Runbook>` : `Runbook: \`${url}\``;
}

/** A Slack incoming-webhook payload: a fallback `text` and readable blocks. */
export function slackPayload(n: Notification): Record<string, unknown> {
  const icon =
    n.status === 'resolved' ? ':white_check_mark:' : n.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const blocks: Array<Record<string, unknown>> = [
    {
      type: 'header',
      text: { type: 'plain_text', text: `${n.status === 'firing' ? 'FIRING' : 'RESOLVED'}: ${n.name}` },
    },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `${icon} *${n.severity}*${n.repeat ? ' · still firing' : ''} · ${n.createdAt}` },
      ],
    },
  ];
  const add = (alerts: AlertView[], state: string) => {
    for (const alert of alerts.slice(0, MAX_SLACK_ALERTS)) {
      const labels = labelText(alert);
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: [
            `*${state}* ${alert.summary}`,
            valueLine(n, alert),
            labels ? `labels: ${labels}` : undefined,
            slackLink(alert.runbook_url),
          ]
            .filter(Boolean)
            .join('\n'),
        },
      });
    }
    // The rest one line each (a group of many users near their budgets is one message listing
    // them), within what a Slack section holds.
    const rest = alerts.slice(MAX_SLACK_ALERTS);
    const lines: string[] = [];
    let length = 0;
    for (const alert of rest) {
      const line = `• ${alert.summary}`;
      if (length + line.length + 1 > MAX_SLACK_SECTION) break;
      lines.push(line);
      length += line.length + 1;
    }
    if (lines.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } });
    if (rest.length > lines.length) {
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `and ${rest.length - lines.length} more` }],
      });
    }
  };
  add(n.firing, 'FIRING');
  add(n.resolved, 'RESOLVED');
  const first = n.firing[0] ?? n.resolved[0];
  return { text: `${icon} ${title(n)}${first ? `: ${first.summary}` : ''}`, blocks };
}

/** The generic webhook's JSON body (stable field names, snake_case like the API). */
export function webhookPayload(n: Notification): Record<string, unknown> {
  return {
    version: '1',
    id: n.id,
    group_key: n.groupKey,
    status: n.status,
    name: n.name,
    severity: n.severity,
    repeat: n.repeat,
    title: title(n),
    alerts: [...n.firing, ...n.resolved],
    sent_at: n.createdAt,
  };
}
