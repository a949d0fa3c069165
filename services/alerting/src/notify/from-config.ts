import type { Config } from '@flashcase/config';
import { type Channel, EmailChannel, SlackChannel, WebhookChannel } from './channels';

const DEFAULT_FROM = 'FlashCase Alerts <flashcase-alerting@localhost>';

/** The channels the config sets up; an unconfigured one is simply absent (and skipped). */
export function channelsFromConfig(alerts: Config['alerts']): Channel[] {
  const channels: Channel[] = [];
  if (alerts.slackWebhookUrl) channels.push(new SlackChannel(alerts.slackWebhookUrl));
  if (alerts.smtpUrl && alerts.email) {
    channels.push(
      new EmailChannel({
        smtpUrl: alerts.smtpUrl,
        from: alerts.emailFrom ?? DEFAULT_FROM,
        to: alerts.email
          .split(',')
          .map((address) => address.trim())
          .filter(Boolean),
      }),
    );
  }
  if (alerts.webhookUrl) channels.push(new WebhookChannel(alerts.webhookUrl));
  return channels;
}
