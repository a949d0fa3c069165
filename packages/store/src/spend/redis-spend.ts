import type { Cluster, Redis } from 'ioredis';
import { SPEND_RESERVE, SPEND_SETTLE, SPEND_STATUS } from './scripts';
import {
  assertHold,
  type BudgetOverride,
  type BudgetUsage,
  overrideField,
  type SpendDecision,
  type SpendHold,
  type SpendStore,
} from './types';

type Command = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;
type SpendClient = (Redis | Cluster) & {
  flashcaseSpendHold: Command;
  flashcaseSpendSettle: Command;
  flashcaseSpendStatus: Command;
};

/** How long a day's refusal tally is kept. */
const REFUSALS_KEPT_MS = 40 * 86_400_000;

/** The spend budgets on Redis: every key under the `{spend}` hash tag (one Cluster slot). */
export class RedisSpendStore implements SpendStore {
  private readonly client: SpendClient;
  private readonly holds: string;
  private readonly holdInfo: string;
  private readonly overrides: string;

  constructor(
    client: Redis | Cluster,
    private readonly prefix: string,
  ) {
    client.defineCommand('flashcaseSpendHold', { lua: SPEND_RESERVE });
    client.defineCommand('flashcaseSpendSettle', { lua: SPEND_SETTLE });
    client.defineCommand('flashcaseSpendStatus', { lua: SPEND_STATUS });
    this.client = client as SpendClient;
    this.holds = `${prefix}{spend}:holds`;
    this.holdInfo = `${prefix}{spend}:hold`;
    this.overrides = `${prefix}{spend}:overrides`;
  }

  private key(budgetKey: string): string {
    return `${this.prefix}{spend}:b:${budgetKey}`;
  }

  async hold(hold: SpendHold): Promise<SpendDecision> {
    assertHold(hold);
    const args: (string | number)[] = [hold.id, hold.ticks, hold.holdMs];
    for (const budget of hold.budgets) {
      args.push(
        budget.limitTicks,
        budget.override ? overrideField(budget.override.userId, budget.override.period) : '',
        budget.expiresAtMs,
      );
    }
    const keys = hold.budgets.map((b) => this.key(b.key));
    const answer = (await this.client.flashcaseSpendHold(
      3 + keys.length,
      this.holds,
      this.holdInfo,
      this.overrides,
      ...keys,
      ...args,
    )) as number[];
    const [allowed, refused] = answer;
    const budgets = hold.budgets.map((_, i) => ({
      limitTicks: Number(answer[2 + i * 2]),
      usedTicks: Number(answer[3 + i * 2]),
    }));
    return { allowed: allowed === 1, refused: refused ? refused - 1 : undefined, budgets };
  }

  async settle(hold: SpendHold, realTicks: number): Promise<BudgetUsage[]> {
    if (!Number.isSafeInteger(realTicks) || realTicks < 0)
      throw new RangeError(`realTicks must be >= 0, got ${realTicks}`);
    const keys = hold.budgets.map((b) => this.key(b.key));
    const answer = (await this.client.flashcaseSpendSettle(
      2 + keys.length,
      this.holds,
      this.holdInfo,
      ...keys,
      hold.id,
      hold.ticks,
      realTicks,
    )) as number[];
    return keys.map((_, i) => ({ spentTicks: Number(answer[i * 2]), heldTicks: Number(answer[i * 2 + 1]) }));
  }

  async markNear(list: string, userId: string, ratio: number, expiresAtMs: number): Promise<void> {
    const key = `${this.prefix}{spend}:near:${list}`;
    await this.client.multi().zadd(key, 'GT', ratio, userId).pexpireat(key, expiresAtMs).exec();
  }

  async clearNear(list: string, userId: string): Promise<void> {
    await this.client.zrem(`${this.prefix}{spend}:near:${list}`, userId);
  }

  async nearUsers(list: string, minRatio: number, limit: number): Promise<Array<{ userId: string; ratio: number }>> {
    const flat = await this.client.zrevrangebyscore(
      `${this.prefix}{spend}:near:${list}`,
      '+inf',
      minRatio,
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const users: Array<{ userId: string; ratio: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) users.push({ userId: String(flat[i]), ratio: Number(flat[i + 1]) });
    return users;
  }

  async countRefusal(day: string, budget: string): Promise<void> {
    const key = `${this.prefix}{spend}:refusals:${day}`;
    await this.client.multi().hincrby(key, budget, 1).pexpire(key, REFUSALS_KEPT_MS).exec();
  }

  async refusals(day: string): Promise<Record<string, number>> {
    const flat = await this.client.hgetall(`${this.prefix}{spend}:refusals:${day}`);
    return Object.fromEntries(Object.entries(flat).map(([budget, n]) => [budget, Number(n)]));
  }

  async usage(keys: readonly string[]): Promise<BudgetUsage[]> {
    if (keys.length === 0) return [];
    const answer = (await this.client.flashcaseSpendStatus(keys.length, ...keys.map((k) => this.key(k)))) as number[];
    return keys.map((_, i) => ({ spentTicks: Number(answer[i * 2]), heldTicks: Number(answer[i * 2 + 1]) }));
  }

  async override(userId: string): Promise<BudgetOverride> {
    const [daily, monthly] = await this.client.hmget(
      this.overrides,
      overrideField(userId, 'daily'),
      overrideField(userId, 'monthly'),
    );
    return {
      ...(daily != null ? { dailyTicks: Number(daily) } : {}),
      ...(monthly != null ? { monthlyTicks: Number(monthly) } : {}),
    };
  }

  async overridesOf(userIds: readonly string[]): Promise<BudgetOverride[]> {
    if (userIds.length === 0) return [];
    const fields = userIds.flatMap((id) => [overrideField(id, 'daily'), overrideField(id, 'monthly')]);
    const values = await this.client.hmget(this.overrides, ...fields);
    return userIds.map((_, i) => {
      const daily = values[i * 2];
      const monthly = values[i * 2 + 1];
      return {
        ...(daily != null ? { dailyTicks: Number(daily) } : {}),
        ...(monthly != null ? { monthlyTicks: Number(monthly) } : {}),
      };
    });
  }

  async setOverride(userId: string, override: BudgetOverride): Promise<void> {
    const tx = this.client.multi();
    for (const [period, ticks] of [
      ['daily', override.dailyTicks],
      ['monthly', override.monthlyTicks],
    ] as const) {
      const field = overrideField(userId, period);
      if (ticks === undefined) tx.hdel(this.overrides, field);
      else tx.hset(this.overrides, field, String(ticks));
    }
    await tx.exec();
  }

  async hasOverrides(): Promise<boolean> {
    return (await this.client.hlen(this.overrides)) > 0;
  }
}
