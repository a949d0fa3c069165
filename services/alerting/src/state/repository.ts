import { type AlertStateStore, StoreUnavailableError } from '@flashcase/store';
import type {
  AlertRecord,
  DigestRecord,
  GroupRecord,
  HealthRecord,
  NotificationRecord,
  SilenceRecord,
} from './records';

const DAY_MS = 24 * 3_600_000;

/** How long a resolved alert stays listed, and an expired silence is kept. */
export const RETENTION_MS = DAY_MS;
/** How long the notification log remembers a notification. */
export const NOTIFICATION_LOG_MS = 7 * DAY_MS;

/**
 * The alerting service's typed view of the shared state store: alerts, groups, silences, health
 * checks and the notification log, each a document kind.
 */
export class AlertRepository {
  private readonly store: AlertStateStore;

  /** Store failures (Redis away, timeouts) come out as `StoreUnavailableError`. */
  constructor(store: AlertStateStore) {
    this.store = guarded(store);
  }

  async alerts(): Promise<AlertRecord[]> {
    return (await this.store.listDocuments<AlertRecord>('alert')).map((d) => d.value);
  }

  /** Writes an alert; a resolved one is forgotten RETENTION_MS after it resolved. */
  async putAlert(alert: AlertRecord, nowMs: number): Promise<void> {
    const ttlMs =
      alert.state === 'resolved' ? Math.max(1, (alert.resolvedAtMs ?? nowMs) + RETENTION_MS - nowMs) : undefined;
    await this.store.putDocument('alert', alert.fingerprint, alert, ttlMs === undefined ? {} : { ttlMs });
  }

  async deleteAlert(fingerprint: string): Promise<void> {
    await this.store.deleteDocument('alert', fingerprint);
  }

  async groups(): Promise<GroupRecord[]> {
    return (await this.store.listDocuments<GroupRecord>('group')).map((d) => d.value);
  }

  async putGroup(group: GroupRecord): Promise<void> {
    await this.store.putDocument('group', group.key, group);
  }

  async deleteGroup(key: string): Promise<void> {
    await this.store.deleteDocument('group', key);
  }

  async silences(): Promise<SilenceRecord[]> {
    return (await this.store.listDocuments<SilenceRecord>('silence')).map((d) => d.value);
  }

  async putSilence(silence: SilenceRecord, nowMs: number): Promise<void> {
    await this.store.putDocument('silence', silence.id, silence, {
      ttlMs: Math.max(1, silence.endsAtMs + RETENTION_MS - nowMs),
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.store.deleteDocument('silence', id);
  }

  async health(): Promise<HealthRecord[]> {
    return (await this.store.listDocuments<HealthRecord>('health')).map((d) => d.value);
  }

  async putHealth(record: HealthRecord): Promise<void> {
    await this.store.putDocument('health', record.service, record, { ttlMs: DAY_MS });
  }

  /** Claims `<groupKey>:<episode>:<seq>`: true for exactly one caller, however many evaluators race. */
  async claimNotification(record: NotificationRecord): Promise<boolean> {
    return this.store.putDocument('notification', `${record.groupKey}:${record.episode}:${record.seq}`, record, {
      onlyIfAbsent: true,
      ttlMs: NOTIFICATION_LOG_MS,
    });
  }

  async completeNotification(record: NotificationRecord): Promise<void> {
    await this.store.putDocument('notification', `${record.groupKey}:${record.episode}:${record.seq}`, record, {
      ttlMs: NOTIFICATION_LOG_MS,
    });
  }

  /** The digest of `date` when one was claimed (sent, or being sent). */
  async digest(date: string): Promise<DigestRecord | undefined> {
    return this.store.getDocument<DigestRecord>('digest', date);
  }

  /** Claims the digest of `record.date`: true for exactly one caller, however many replicas race. */
  async claimDigest(record: DigestRecord): Promise<boolean> {
    return this.store.putDocument('digest', record.date, record, { onlyIfAbsent: true, ttlMs: NOTIFICATION_LOG_MS });
  }

  async completeDigest(record: DigestRecord): Promise<void> {
    await this.store.putDocument('digest', record.date, record, { ttlMs: NOTIFICATION_LOG_MS });
  }

  async digests(): Promise<DigestRecord[]> {
    return (await this.store.listDocuments<DigestRecord>('digest')).map((d) => d.value);
  }

  async notifications(): Promise<NotificationRecord[]> {
    return (await this.store.listDocuments<NotificationRecord>('notification')).map((d) => d.value);
  }
}

/** The store, with every failure other than a programming error turned into StoreUnavailableError. */
function guarded(store: AlertStateStore): AlertStateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(target, args);
        } catch (err) {
          if (err instanceof RangeError || err instanceof TypeError || err instanceof SyntaxError) throw err;
          throw new StoreUnavailableError('the alert state store is unavailable', { cause: err });
        }
      };
    },
  });
}
