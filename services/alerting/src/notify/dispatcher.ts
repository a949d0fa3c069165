import { setTimeout as sleep } from 'node:timers/promises';
import type { Instruments, Logger } from '@flashcase/telemetry';
import type { Severity } from '../rules/alert-rule';
import { type Channel, ChannelError, type ChannelName } from './channels';
import { type Message, type Notification, notificationMessage } from './notification';

/** Retry policy of every delivery. */
export interface RetryPolicy {
  /** Tries per channel, the first included (>= 1). */
  attempts: number;
  /** Wait before the 2nd try; doubles for each later one. */
  baseDelayMs: number;
  /** No wait is longer. */
  maxDelayMs: number;
  /** Longest one try may take. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1_000, maxDelayMs: 15_000, timeoutMs: 10_000 };

/** Contract routing: critical to Slack, email and the webhook; warning to Slack and the webhook. */
export const ROUTES: Readonly<Record<Severity, readonly ChannelName[]>> = {
  critical: ['slack', 'email', 'webhook'],
  warning: ['slack', 'webhook'],
};

/** Outcome per channel the notification was routed to (unconfigured channels are absent). */
export type DeliveryReport = Partial<Record<ChannelName, 'sent' | 'failed'>>;

export interface DispatcherOptions {
  /** The configured channels; the others are skipped. */
  channels: readonly Channel[];
  log: Logger;
  instruments?: Pick<Instruments, 'alertNotifications'> | undefined;
  retry?: Partial<RetryPolicy>;
  /** For tests: how to wait between tries. */
  wait?: (ms: number) => Promise<void>;
}

/** `base * 2^(n-1)`, capped: the wait before try `n + 1`. */
export function backoffMs(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, failedTries: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedTries - 1));
}

/**
 * Sends notifications to the channels their severity routes to. Each channel is delivered on its
 * own: a slow or failing channel never delays the others. A failed try (timeout, network error,
 * 5xx, 408, 429) is retried with exponential backoff, up to `attempts`; a permanent refusal (other
 * 4xx, SMTP auth) is not. `flashcase.alert.notifications{channel, outcome}` counts `sent` and
 * `failed` deliveries and `retried` tries. Never throws: failures are logged (without URLs or
 * credentials) and reported.
 */
export class Dispatcher {
  private readonly channels: Map<ChannelName, Channel>;
  private readonly policy: RetryPolicy;
  private readonly wait: (ms: number) => Promise<void>;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: DispatcherOptions) {
    this.channels = new Map(options.channels.map((c) => [c.name, c]));
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.wait = options.wait ?? ((ms) => sleep(ms));
  }

  /** The configured channels a severity goes to. */
  routeOf(severity: Severity): ChannelName[] {
    return ROUTES[severity].filter((name) => this.channels.has(name));
  }

  /** Delivers to every routed channel in parallel; resolves when all finished (sent or given up). */
  dispatch(notification: Notification): Promise<DeliveryReport> {
    return this.send(notificationMessage(notification), this.routeOf(notification.severity));
  }

  /** Which of `wanted` are configured. */
  configured(wanted: readonly ChannelName[]): ChannelName[] {
    return wanted.filter((name) => this.channels.has(name));
  }

  /**
   * Delivers a rendered message to the configured channels among `route`, in parallel, with the
   * same retries and counting as a notification; resolves when all finished.
   */
  send(message: Message, route: readonly ChannelName[]): Promise<DeliveryReport> {
    const deliveries = this.configured(route).map(async (name) => {
      const channel = this.channels.get(name) as Channel;
      return [name, await this.deliver(channel, message)] as const;
    });
    const all = Promise.all(deliveries).then((results) => Object.fromEntries(results) as DeliveryReport);
    this.inFlight.add(all);
    void all.finally(() => this.inFlight.delete(all));
    return all;
  }

  /** Resolves when every delivery under way finished, or after `timeoutMs`. */
  async idle(timeoutMs = 30_000): Promise<void> {
    const timer = sleep(timeoutMs, undefined, { ref: false });
    await Promise.race([Promise.allSettled([...this.inFlight]), timer]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.channels.values()].map((c) => c.close().catch(() => undefined)));
  }

  private async deliver(channel: Channel, message: Message): Promise<'sent' | 'failed'> {
    const { log, instruments } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        await channel.send(message, this.policy.timeoutMs);
        instruments?.alertNotifications.add(1, { channel: channel.name, outcome: 'sent' });
        log.info(`${message.label} sent to ${channel.name}`, {
          channel: channel.name,
          attempt,
        });
        return 'sent';
      } catch (err) {
        const reason = err instanceof ChannelError ? err.message : 'unexpected error';
        const permanent = err instanceof ChannelError && err.permanent;
        if (permanent || attempt >= this.policy.attempts) {
          instruments?.alertNotifications.add(1, { channel: channel.name, outcome: 'failed' });
          log.error(`${message.label} to ${channel.name} failed after ${attempt} tries: ${reason}`, {
            channel: channel.name,
            attempt,
          });
          return 'failed';
        }
        const delayMs = backoffMs(this.policy, attempt);
        instruments?.alertNotifications.add(1, { channel: channel.name, outcome: 'retried' });
        log.warn(`${message.label} to ${channel.name} failed (${reason}); retrying in ${delayMs} ms`, {
          channel: channel.name,
          attempt,
        });
        await this.wait(delayMs);
      }
    }
  }
}
