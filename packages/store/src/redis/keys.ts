import type { WindowLimit } from '../types';

/** The key prefix every key starts with unless configured otherwise (`REDIS_KEY_PREFIX`). */
export const DEFAULT_KEY_PREFIX = 'flashcase:';

/**
 * Every Redis key the store writes. Hash tags put the keys one script touches in one slot (Redis
 * Cluster): `{u:<key>}` for one user's rate-limit windows and budget, `{usage}` for every usage
 * counter (totals, per user, minute buckets), `{reqstats}` for the gateway request stats.
 *
 * NOTE: the braces must be the first ones in the key (Redis hashes the first `{...}`), so the
 * prefix may not contain any.
 */
export class KeySpace {
  constructor(readonly prefix: string = DEFAULT_KEY_PREFIX) {
    if (/[{}]/.test(prefix)) throw new RangeError(`key prefix must not contain braces (hash tags), got ${prefix}`);
  }

  /** ZSET of hit ids scored by time (ms), one per window. */
  rateLimit(key: string, window: WindowLimit): string {
    return `${this.prefix}{u:${key}}:rl:${window.name}:${window.windowMs}`;
  }

  /** ZSET of live reservation ids scored by reservation time (ms). */
  budgetLog(key: string): string {
    return `${this.prefix}{u:${key}}:budget:log`;
  }

  /** HASH reservation id -> tokens. */
  budgetTokens(key: string): string {
    return `${this.prefix}{u:${key}}:budget:tokens`;
  }

  /** HASH of the cluster-wide usage fields (`p`, `c`, `r`, `e`, `cost`, `op:*`, `model:*`, `since`). */
  usageTotals(): string {
    return `${this.prefix}{usage}:total`;
  }

  /** HASH of one user's usage fields, same layout. */
  usageUser(userId: string): string {
    return `${this.prefix}{usage}:user:${userId}`;
  }

  /** Cluster-wide minute buckets are `<this><minuteMs>` (HASH `p`, `c`, `r`, `e`, `cost`; ~25 h). */
  usageMinutePrefix(): string {
    return `${this.prefix}{usage}:m:`;
  }

  /** One user's minute buckets are `<this><minuteMs>` (same fields; ~2 h). */
  usageUserMinutePrefix(userId: string): string {
    return `${this.prefix}{usage}:um:${userId}:`;
  }

  /** Cluster-wide hour buckets are `<this><hourMs>` (HASH `bn`, `bb`, `bp`: the pricing check; ~25 h). */
  usageHourPrefix(): string {
    return `${this.prefix}{usage}:h:`;
  }

  /** A report period's users' counters are `<this><period>` (HASH `<userId>:<field>`, and `*r`). */
  usagePeriodUsersPrefix(): string {
    return `${this.prefix}{usage}:pu:`;
  }

  /** HASH of every user's counters in a report period (fields `<userId>:<field>`, and `*r`). */
  usagePeriodUsers(period: string): string {
    return `${this.usagePeriodUsersPrefix()}${period}`;
  }

  /** A day's or month's totals are `<this><period>` (HASH, same fields; days also by op and model). */
  usagePeriodTotalsPrefix(): string {
    return `${this.prefix}{usage}:pt:`;
  }

  /** A report period's users ranked are `<this><ct|tk>:<period>` (ZSET user -> cost ticks | tokens). */
  usageRankPrefix(): string {
    return `${this.prefix}{usage}:rk:`;
  }

  /** HASH call id -> JSON of the call (its orphan estimate): one writer's calls under way. */
  inflight(writerId: string): string {
    return `${this.prefix}{usage}:inflight:${writerId}`;
  }

  /** The `inflight` key of a writer is `<this><writerId>` (the recovery script builds it). */
  inflightPrefix(): string {
    return `${this.prefix}{usage}:inflight:`;
  }

  /** ZSET writer id -> its last heartbeat (ms): the replicas that may have calls under way. */
  replicas(): string {
    return `${this.prefix}{usage}:replicas`;
  }

  /**
   * A recovered call's tombstone is `<this><callId>` (STRING, JSON of what was counted for it,
   * ~25 h): its replica's late usage record corrects that estimate instead of counting again.
   */
  recoveredPrefix(): string {
    return `${this.prefix}{usage}:recovered:`;
  }

  /** One user's totals hash is `<this><userId>` (the recovery script builds it). */
  usageUserPrefix(): string {
    return `${this.prefix}{usage}:user:`;
  }

  /** One user's minute buckets are `<this><userId>:<minuteMs>` (the recovery script builds them). */
  usageUserMinuteBase(): string {
    return `${this.prefix}{usage}:um:`;
  }

  /** STRING: the highest write sequence applied from one writer (replay deduplication). */
  usageWriter(writerId: string): string {
    return `${this.prefix}{usage}:writer:${writerId}`;
  }

  /** Request stats minute buckets are `<this><minuteMs>` (HASH `n`, `s4`, `s5`, `s429`, `b<i>`; ~25 h). */
  requestMinutePrefix(): string {
    return `${this.prefix}{reqstats}:m:`;
  }

  /** STRING: the highest request-stats write sequence applied from one writer. */
  requestWriter(writerId: string): string {
    return `${this.prefix}{reqstats}:writer:${writerId}`;
  }
}
