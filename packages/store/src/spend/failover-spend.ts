import { StoreUnavailableError } from '../errors';
import type { EmbeddedSpendStore } from './embedded-spend';
import type { RedisSpendStore } from './redis-spend';
import type { BudgetOverride, BudgetUsage, SpendDecision, SpendHold, SpendStore } from './types';

/** Runs a limit check on Redis, or on the fallback (fail-open) / refuses (fail-closed) while it is away. */
export type Guard = <T>(onRedis: () => Promise<T>, onFallback: () => Promise<T>) => Promise<T>;

/**
 * The spend budgets behind the resilient store's failure mode: holds go to Redis, or while it is
 * away to this replica's own budgets (`open`) or are refused (`closed`), like the rate limits. A
 * hold is settled where it was made; one Redis cannot settle lapses and counts at its worst case.
 */
export class FailoverSpendStore implements SpendStore {
  private readonly local = new Set<string>();

  constructor(
    private readonly redis: RedisSpendStore,
    private readonly fallback: EmbeddedSpendStore,
    private readonly guard: Guard,
  ) {}

  hold(hold: SpendHold): Promise<SpendDecision> {
    return this.guard(
      () => this.redis.hold(hold),
      async () => {
        const decision = await this.fallback.hold(hold);
        if (decision.allowed) this.local.add(hold.id);
        return decision;
      },
    );
  }

  async settle(hold: SpendHold, realTicks: number): Promise<BudgetUsage[]> {
    if (this.local.delete(hold.id)) return this.fallback.settle(hold, realTicks);
    return this.redis.settle(hold, realTicks).catch(() => []);
  }

  markNear(list: string, userId: string, ratio: number, expiresAtMs: number): Promise<void> {
    return this.redis.markNear(list, userId, ratio, expiresAtMs).catch(() => undefined);
  }

  clearNear(list: string, userId: string): Promise<void> {
    return this.redis.clearNear(list, userId).catch(() => undefined);
  }

  nearUsers(list: string, minRatio: number, limit: number): Promise<Array<{ userId: string; ratio: number }>> {
    return this.shared(() => this.redis.nearUsers(list, minRatio, limit));
  }

  countRefusal(day: string, budget: string): Promise<void> {
    return this.redis.countRefusal(day, budget).catch(() => this.fallback.countRefusal(day, budget));
  }

  refusals(day: string): Promise<Record<string, number>> {
    return this.shared(() => this.redis.refusals(day));
  }

  usage(keys: readonly string[]): Promise<BudgetUsage[]> {
    return this.shared(() => this.redis.usage(keys));
  }

  override(userId: string): Promise<BudgetOverride> {
    return this.shared(() => this.redis.override(userId));
  }

  overridesOf(userIds: readonly string[]): Promise<BudgetOverride[]> {
    return this.shared(() => this.redis.overridesOf(userIds));
  }

  setOverride(userId: string, override: BudgetOverride): Promise<void> {
    return this.shared(() => this.redis.setOverride(userId, override));
  }

  hasOverrides(): Promise<boolean> {
    return this.shared(() => this.redis.hasOverrides());
  }

  /** Shared state only: while Redis is away these fail with StoreUnavailableError. */
  private async shared<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      throw new StoreUnavailableError('the spend budgets are unavailable', { cause: err });
    }
  }
}
