import type { Cluster, Redis } from 'ioredis';
import { diffFields, fieldsFromHash, type UsageFields } from '../usage/ledger';
import { DEFAULT_KEY_PREFIX, KeySpace } from './keys';
import { defineScripts, type ScriptedClient } from './scripts/define';

/** The running usage counters as the store holds them: the totals hash and one hash per user. */
export interface StoredUsage {
  totals: UsageFields;
  /** When counting began (ms), the totals' `since`. */
  sinceMs: number | undefined;
  users: Map<string, UsageFields>;
}

/** What a restore should make the store hold: the counters rebuilt from the usage records. */
export interface UsageTarget {
  totals: UsageFields;
  users: ReadonlyMap<string, UsageFields>;
  /** The first record's time (ms) overall and per user; a later `since` is moved back to it. */
  sinceMs?: number | undefined;
  usersSinceMs?: ReadonlyMap<string, number>;
}

/** Glob characters of SCAN's MATCH, escaped so a prefix matches only itself. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Reads and restores the running usage counters (`{usage}:total` and `{usage}:user:<id>`) for an
 * audit: `pnpm reconcile` compares them with the usage records and writes the difference back.
 * Minute and hour buckets (the rolling last hour, timeseries, the last 24 h pricing check) are not
 * touched: they age out by themselves.
 *
 * `read` scans the user hashes (every master of a Cluster); while calls are being counted it sees
 * each hash at a slightly different moment. `restore` adds the difference between a target and a
 * reading in one script, so counts added since the reading are kept and a second restore of the
 * same target adds nothing.
 */
export class RedisUsageAudit {
  readonly keys: KeySpace;
  private readonly client: ScriptedClient;

  constructor(client: Redis | Cluster, { keyPrefix = DEFAULT_KEY_PREFIX }: { keyPrefix?: string } = {}) {
    this.keys = new KeySpace(keyPrefix);
    this.client = defineScripts(client);
  }

  /** The user ids that have a usage hash. */
  async userIds(): Promise<string[]> {
    const base = this.keys.usageUserPrefix();
    const match = `${globEscape(base)}*`;
    const client = this.client as Redis | Cluster;
    const nodes: Redis[] =
      'nodes' in client && typeof client.nodes === 'function' && (client as Cluster).isCluster
        ? (client as Cluster).nodes('master')
        : [client as Redis];
    const ids = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) if (key.startsWith(base)) ids.add(key.slice(base.length));
      } while (cursor !== '0');
    }
    return [...ids].sort();
  }

  async read(): Promise<StoredUsage> {
    const client = this.client as Redis | Cluster;
    const totals = fieldsFromHash(await client.hgetall(this.keys.usageTotals()).then(flatten));
    const users = new Map<string, UsageFields>();
    for (const id of await this.userIds()) {
      const { fields } = fieldsFromHash(await client.hgetall(this.keys.usageUser(id)).then(flatten));
      if (fields.size > 0) users.set(id, fields);
    }
    return { totals: totals.fields, sinceMs: totals.sinceMs, users };
  }

  /**
   * Adds `target - current` to every hash (one atomic script; users absent from `target` are
   * zeroed). Resolves to the number of fields changed (0: the store already held the target).
   */
  async restore(target: UsageTarget, current: StoredUsage): Promise<number> {
    const keys: string[] = [];
    const args: string[] = [];
    const add = (key: string, delta: UsageFields, sinceMs: number | undefined) => {
      if (delta.size === 0 && sinceMs === undefined) return;
      keys.push(key);
      args.push(sinceMs === undefined ? '' : String(sinceMs), String(delta.size));
      for (const [field, n] of delta) args.push(field, String(n));
    };
    add(this.keys.usageTotals(), diffFields(target.totals, current.totals), target.sinceMs);
    const ids = new Set([...target.users.keys(), ...current.users.keys()]);
    for (const id of ids) {
      add(
        this.keys.usageUser(id),
        diffFields(target.users.get(id) ?? new Map(), current.users.get(id) ?? new Map()),
        target.usersSinceMs?.get(id),
      );
    }
    if (keys.length === 0) return 0;
    return Number(await this.client.flashcaseUsageRestore(keys.length, ...keys, ...args));
  }
}

function flatten(hash: Record<string, string>): string[] {
  const flat: string[] = [];
  for (const [field, value] of Object.entries(hash)) flat.push(field, value);
  return flat;
}
