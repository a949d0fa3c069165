import type { UsageCountersJson, UsageJson } from '@flashcase/config';
import { createRedisClient, RedisUsageAudit, type StoredUsage, type UsageFields } from '@flashcase/store';
import { getJson } from '../gateway/client';
import { USAGE_PATH } from '../gateway/usage';
import type { StoredView } from './compare';
import { TICKS_PER_USD } from './invoice';

/** The store `pnpm reconcile` compares with: read, and (Redis only) restore. */
export interface ReconcileStore {
  /** What the comparison sees. */
  view(): Promise<StoredView & { sinceMs?: number | undefined }>;
  /** The Redis audit, when the store can be written. */
  readonly audit?: RedisUsageAudit;
  /** The last Redis reading (what a restore adds the difference to). */
  readonly last?: StoredUsage | undefined;
  close(): Promise<void>;
}

/** The store at `url` under `prefix`, through the store package's own key layout and scripts. */
export async function redisStore(url: string, prefix: string): Promise<ReconcileStore> {
  const client = createRedisClient({ url, commandTimeoutMs: 10_000 });
  await new Promise<void>((resolve, reject) => {
    if (client.status === 'ready') return resolve();
    client.once('ready', () => resolve());
    client.once('error', (err: Error) => reject(err));
  });
  const audit = new RedisUsageAudit(client, { keyPrefix: prefix });
  const store: { -readonly [K in keyof ReconcileStore]: ReconcileStore[K] } = {
    audit,
    last: undefined,
    async view() {
      const usage = await audit.read();
      store.last = usage;
      return { totals: usage.totals, users: usage.users, sinceMs: usage.sinceMs };
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
  return store;
}

const API_FIELDS = new Set(['p', 'c', 'rt', 'cp', 'r', 'ct', 'bn']);

function addGroup(into: UsageFields, prefix: string, group: UsageCountersJson): void {
  const put = (field: string, n: number) => {
    if (n !== 0) into.set(`${prefix}${field}`, n);
  };
  put('p', group.prompt_tokens);
  put('c', group.completion_tokens);
  put('rt', group.reasoning_tokens);
  put('cp', group.cached_prompt_tokens);
  put('r', group.requests);
  put('ct', Math.round(group.estimated_cost_usd * TICKS_PER_USD));
}

/**
 * The usage API (`GET /api/v1/ai/usage`, admin) as a store to compare with: totals, per model and
 * per operation, without errors or users; its cost is USD as a float, so cost differences under a
 * micro-dollar are none.
 */
export function apiStore(url: string, token: string): ReconcileStore {
  return {
    async view() {
      const usage = await getJson<UsageJson>(url, USAGE_PATH, token);
      const totals: UsageFields = new Map();
      addGroup(totals, '', {
        prompt_tokens: usage.usage.total_prompt_tokens,
        completion_tokens: usage.usage.total_completion_tokens,
        total_tokens: usage.usage.total_tokens,
        reasoning_tokens: usage.usage.total_reasoning_tokens,
        cached_prompt_tokens: usage.usage.total_cached_prompt_tokens,
        requests: usage.usage.total_requests,
        estimated_cost_usd: usage.estimated_cost_usd,
      });
      for (const [name, group] of Object.entries(usage.by_operation)) addGroup(totals, `op:${name}:`, group);
      for (const [name, group] of Object.entries(usage.by_model)) addGroup(totals, `model:${name}:`, group);
      if (usage.pricing_check.calls_billed > 0) totals.set('bn', usage.pricing_check.calls_billed);
      return {
        totals,
        has: (field) => API_FIELDS.has(field.slice(field.lastIndexOf(':') + 1)),
        costToleranceTicks: TICKS_PER_USD / 1_000_000,
        ...(usage.since ? { sinceMs: Date.parse(usage.since) } : {}),
      };
    },
    async close() {},
  };
}
