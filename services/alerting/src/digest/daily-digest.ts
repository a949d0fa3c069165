import type { UsageDigestJson } from '@flashcase/config';
import type { Logger } from '@flashcase/telemetry';
import type { ChannelName } from '../notify/channels';
import type { DeliveryReport } from '../notify/dispatcher';
import type { Message } from '../notify/notification';
import type { DigestRecord } from '../state/records';
import type { AlertRepository } from '../state/repository';
import { digestMessage } from './render';
import { dueDigest } from './schedule';

/** The digest goes to Slack and email (contract section 4, `USAGE_DIGEST_HOUR`). */
export const DIGEST_ROUTE: readonly ChannelName[] = ['slack', 'email'];

/** Where the digest's figures come from: ai-proxy `GET /api/v1/ai/usage/digest?date=`. */
export interface DigestSource {
  usageDigest(date: string): Promise<UsageDigestJson>;
}

/** Where it goes: the Dispatcher (retries, `flashcase.alert.notifications{channel, outcome}`). */
export interface DigestSender {
  configured(route: readonly ChannelName[]): ChannelName[];
  send(message: Message, route: readonly ChannelName[]): Promise<DeliveryReport>;
}

export interface DailyDigestOptions {
  /** `USAGE_DIGEST_HOUR`; null = off. */
  hour: number | null;
  /** `BUDGET_TIMEZONE`. */
  timeZone: string;
  repository: AlertRepository;
  source: DigestSource;
  sender: DigestSender;
  /** Unique per process: who claimed a digest. */
  replicaId: string;
  log: Logger;
  /** Asked right before the claim: true while this replica still holds the evaluator lease. */
  confirmLeadership?: () => Promise<boolean>;
}

/**
 * Yesterday's usage review, sent once a day at `USAGE_DIGEST_HOUR` local time to Slack and email.
 * The evaluator (the replica holding the lease) calls {@link runOnce} every evaluation; it looks for
 * the most recent digest due ({@link dueDigest}) and, when the store has no claim for that day,
 * reads the figures from ai-proxy, confirms the lease, claims the day in the store
 * (`onlyIfAbsent`, like a notification) and only then sends.
 *
 * So it is sent at most once across replicas, restarts and failovers: a replica that finds the day
 * claimed sends nothing. A leader that dies before claiming (down over the hour, killed while
 * reading the figures) leaves the day unclaimed, and whoever leads next sends it, late rather than
 * never, until the next day's digest is due. A leader killed while a delivery is in flight leaves
 * that delivery to fate rather than risk a second copy. An unreadable ai-proxy is retried every
 * evaluation. Logs name the day and the channels only: no figures, no user ids, no secrets.
 */
export class DailyDigest {
  /** Days this process knows are claimed (so the store is not asked every evaluation). */
  private readonly claimed = new Set<string>();
  private readonly deliveries = new Set<Promise<unknown>>();
  private failing: string | undefined;

  constructor(private readonly options: DailyDigestOptions) {}

  /** Sends the digest due at `nowMs` if nobody has; never throws (failures are logged). */
  async runOnce(nowMs: number): Promise<DigestRecord | undefined> {
    const { hour, timeZone, repository, source, sender, log } = this.options;
    if (hour === null) return undefined;
    const { date, dueAtMs } = dueDigest(nowMs, hour, timeZone);
    if (this.claimed.has(date)) return undefined;
    if (sender.configured(DIGEST_ROUTE).length === 0) return undefined;
    try {
      if (await repository.digest(date)) {
        this.claimed.add(date);
        return undefined;
      }
      let digest: UsageDigestJson;
      try {
        digest = await source.usageDigest(date);
      } catch (err) {
        const reason = (err as Error).message;
        if (this.failing !== reason) log.warn(`Usage digest ${date} cannot be read yet (${reason}); retrying`);
        this.failing = reason;
        return undefined;
      }
      this.failing = undefined;
      if (!(await (this.options.confirmLeadership?.() ?? Promise.resolve(true)))) return undefined;
      const record: DigestRecord = {
        date,
        claimedBy: this.options.replicaId,
        claimedAtMs: nowMs,
        dueAtMs,
        channels: {},
      };
      if (!(await repository.claimDigest(record))) {
        this.claimed.add(date);
        log.info(`Usage digest ${date} was already claimed by another replica`);
        return undefined;
      }
      this.claimed.add(date);
      const lateS = Math.round((nowMs - dueAtMs) / 1000);
      log.info(`Usage digest ${date} claimed${lateS > 60 ? `, ${lateS} s after it was due` : ''}; sending`, {
        digest_date: date,
        late_s: lateS,
      });
      this.deliver(digestMessage(digest), record);
      return record;
    } catch (err) {
      log.error(`Usage digest ${date} could not be checked or claimed; retrying next evaluation`, { err });
      return undefined;
    }
  }

  /** Resolves when the deliveries started so far have finished. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.deliveries]);
  }

  private deliver(message: Message, record: DigestRecord): void {
    const delivery = this.options.sender
      .send(message, DIGEST_ROUTE)
      .then((channels) => this.options.repository.completeDigest({ ...record, channels }))
      .catch((err: unknown) => this.options.log.warn('Usage digest outcome could not be recorded', { err }));
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }
}
