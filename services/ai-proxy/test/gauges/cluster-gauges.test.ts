import { loadConfig } from '@flashcase/config';
import { type CountersStore, EmbeddedSpendStore, RedisStore } from '@flashcase/store';
import { createInstruments } from '@flashcase/telemetry';
import { deleteKeys, readUntil, testMeters } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spendBudgets } from '../../src/budgets/spend-budgets';
import { type ClusterGauges, startClusterGauges } from '../../src/gauges/cluster-gauges';
import { REDIS_URL } from '../helpers/harness';

describe('the cluster-wide gauges', () => {
  let redis: Redis;
  let store: RedisStore;
  let prefix: string;
  let meters: ReturnType<typeof testMeters>;
  let gauges: ClusterGauges | undefined;
  beforeEach(() => {
    prefix = `flashcase-test:ai-proxy:gauges:${process.pid}:${Math.random().toString(36).slice(2)}:`;
    redis = new Redis(REDIS_URL);
    store = new RedisStore(redis, { keyPrefix: prefix, closeClient: false });
    meters = testMeters();
  });
  afterEach(async () => {
    gauges?.stop();
    gauges = undefined;
    await store.close();
    await meters.shutdown();
    redis.disconnect();
    await deleteKeys(REDIS_URL, prefix);
  });

  const budgetsOf = (env: Record<string, string>, instruments: ReturnType<typeof createInstruments>) =>
    spendBudgets(loadConfig('ai-proxy', { ENVIRONMENT: 'test', ...env }), new EmbeddedSpendStore(), instruments);
  const gauge = async (name: string) => (await meters.points()).find((p) => p.name === name)?.value;
  const use = (tokens: number) =>
    store.recordUsage({
      userId: 'u1',
      model: 'grok-4',
      operation: 'chat',
      promptTokens: tokens,
      completionTokens: 0,
      costTicks: 0,
    });

  it('report the last hour of tokens from the store as soon as they start, and follow it', async () => {
    const instruments = createInstruments(meters.meter);
    await use(40);
    gauges = await startClusterGauges({
      store,
      budgets: budgetsOf({}, instruments),
      instruments,
      monthlyBudget: false,
      intervalMs: 20,
    });
    expect(await gauge('flashcase.ai.tokens.last_hour')).toBe(40);
    await use(2);
    expect(
      await readUntil(
        () => gauge('flashcase.ai.tokens.last_hour'),
        (v) => v === 42,
      ),
    ).toBe(42);
  });

  it('keep the last value while the store cannot be read', async () => {
    const instruments = createInstruments(meters.meter);
    await use(10);
    let failing = false;
    const flaky: Pick<CountersStore, 'lastHourTokens'> = {
      lastHourTokens: () => (failing ? Promise.reject(new Error('store down')) : store.lastHourTokens()),
    };
    gauges = await startClusterGauges({
      store: flaky,
      budgets: budgetsOf({}, instruments),
      instruments,
      monthlyBudget: false,
      intervalMs: 20,
    });
    failing = true;
    await use(5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await gauge('flashcase.ai.tokens.last_hour')).toBe(10);
    failing = false;
    expect(
      await readUntil(
        () => gauge('flashcase.ai.tokens.last_hour'),
        (v) => v === 15,
      ),
    ).toBe(15);
  });

  it('report the monthly budget only when one is set', async () => {
    const instruments = createInstruments(meters.meter);
    gauges = await startClusterGauges({
      store,
      budgets: budgetsOf({ AI_BUDGET_USD_PER_MONTH: '250' }, instruments),
      instruments,
      monthlyBudget: true,
    });
    expect(await gauge('flashcase.budget.monthly.spent')).toBe(0);
    expect(await gauge('flashcase.budget.monthly.limit')).toBe(250);
  });

  it('read no budget without a monthly budget', async () => {
    const instruments = createInstruments(meters.meter);
    gauges = await startClusterGauges({
      store,
      budgets: budgetsOf({}, instruments),
      instruments,
      monthlyBudget: false,
    });
    expect(await gauge('flashcase.budget.monthly.spent')).toBeUndefined();
    expect(await gauge('flashcase.budget.monthly.limit')).toBeUndefined();
  });
});
