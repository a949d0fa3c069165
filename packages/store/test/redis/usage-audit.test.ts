import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addLedgerCall,
  createRedisClient,
  diffFields,
  RedisStore,
  RedisUsageAudit,
  type UsageFields,
  type UsageRecord,
} from '../../src/index';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../helpers/redis';

const records: UsageRecord[] = [
  {
    userId: 'alice',
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 120,
    completionTokens: 80,
    reasoningTokens: 30,
    cachedPromptTokens: 20,
    costTicks: 1_234_567,
    billed: { billedTicks: 1_234_567, pricedTicks: 1_200_000 },
  },
  {
    userId: 'bob',
    model: 'grok-4',
    operation: 'rewrite',
    promptTokens: 50,
    completionTokens: 0,
    costTicks: 0,
    error: true,
  },
  {
    userId: 'alice',
    model: 'grok:mini',
    operation: 'autocomplete',
    promptTokens: 7,
    completionTokens: 9,
    costTicks: 41,
  },
];

/** What the usage script adds for `records`, built by the ledger: the totals and each user. */
function ledger(list: readonly UsageRecord[]): { totals: UsageFields; users: Map<string, UsageFields> } {
  const totals: UsageFields = new Map();
  const users = new Map<string, UsageFields>();
  for (const r of list) {
    const call = {
      operation: r.operation,
      model: r.model,
      billed: r.billed,
      counters: {
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        totalTokens: r.promptTokens + r.completionTokens,
        reasoningTokens: r.reasoningTokens ?? 0,
        cachedPromptTokens: r.cachedPromptTokens ?? 0,
        requests: 1,
        errors: r.error ? 1 : 0,
        costTicks: r.costTicks,
      },
    };
    addLedgerCall(totals, call, true);
    const user = users.get(r.userId) ?? new Map();
    users.set(r.userId, addLedgerCall(user, call, false));
  }
  return { totals, users };
}

describe('usage audit (reconcile reads and restores)', () => {
  let prefix: string;
  let client: Redis;
  let store: RedisStore;
  let audit: RedisUsageAudit;

  beforeEach(async () => {
    prefix = uniquePrefix();
    client = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 }) as Redis;
    store = new RedisStore(client, { keyPrefix: prefix, closeClient: false });
    audit = new RedisUsageAudit(client, { keyPrefix: prefix });
    await client.ping().catch(() => new Promise((resolve) => client.once('ready', resolve)));
  });
  afterEach(async () => {
    await deleteKeys(REDIS_URL, prefix);
    await client.quit();
  });

  it('reads exactly what the ledger says the usage script writes, legacy micro-dollars as ticks', async () => {
    for (const r of records) await store.recordUsage(r);
    const want = ledger(records);
    const read = await audit.read();
    expect(diffFields(want.totals, read.totals)).toEqual(new Map());
    expect([...read.users.keys()]).toEqual(['alice', 'bob']);
    for (const [id, fields] of want.users)
      expect(diffFields(fields, read.users.get(id) ?? new Map())).toEqual(new Map());
    expect(read.sinceMs).toBeGreaterThan(0);

    // a release before ticks wrote `cost` in micro-dollars: 3 micros are 30 000 ticks
    await client.hset(`${prefix}{usage}:total`, 'cost', '3');
    expect((await audit.read()).totals.get('ct')).toBe((want.totals.get('ct') ?? 0) + 30_000);
  });

  it('restores a flushed prefix from the ledger, keeps calls counted meanwhile, and a second restore writes nothing', async () => {
    for (const r of records) await store.recordUsage(r);
    const before = await store.usage();
    await deleteKeys(REDIS_URL, prefix);
    const want = ledger(records);
    const emptied = await audit.read();
    expect(emptied.totals.size).toBe(0);

    // a call counted between the reading and the restore is kept on top of it
    const late: UsageRecord = {
      userId: 'carol',
      model: 'grok-4',
      operation: 'chat',
      promptTokens: 1,
      completionTokens: 1,
      costTicks: 5,
    };
    await store.recordUsage(late);
    const changed = await audit.restore({ ...want, sinceMs: 1_000 }, emptied);
    expect(changed).toBeGreaterThan(0);
    const after = await store.usage();
    expect(after.totals).toEqual({
      ...before.totals,
      promptTokens: before.totals.promptTokens + 1,
      completionTokens: before.totals.completionTokens + 1,
      totalTokens: before.totals.totalTokens + 2,
      requests: before.totals.requests + 1,
      costTicks: before.totals.costTicks + 5,
    });
    expect(after.byModel['grok:mini']).toEqual(before.byModel['grok:mini']);
    expect(after.pricingCheck).toEqual(before.pricingCheck);
    expect(after.since).toBe(new Date(1_000).toISOString());
    expect((await store.userUsage('alice')).totals).toEqual(userTotals('alice'));

    // the target now includes carol: restoring it again changes nothing
    const withLate = ledger([...records, late]);
    expect(await audit.restore({ ...withLate, sinceMs: 1_000 }, await audit.read())).toBe(0);
  });

  /** A user's totals summed from `records` by hand. */
  function userTotals(id: string) {
    const mine = records.filter((r) => r.userId === id);
    return {
      promptTokens: mine.reduce((n, r) => n + r.promptTokens, 0),
      completionTokens: mine.reduce((n, r) => n + r.completionTokens, 0),
      totalTokens: mine.reduce((n, r) => n + r.promptTokens + r.completionTokens, 0),
      reasoningTokens: mine.reduce((n, r) => n + (r.reasoningTokens ?? 0), 0),
      cachedPromptTokens: mine.reduce((n, r) => n + (r.cachedPromptTokens ?? 0), 0),
      requests: mine.length,
      errors: mine.filter((r) => r.error).length,
      costTicks: mine.reduce((n, r) => n + r.costTicks, 0),
    };
  }
});
