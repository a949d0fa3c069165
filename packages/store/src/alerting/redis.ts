import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_KEY_PREFIX } from '../redis/keys';
import {
  type AlertStateStore,
  assertId,
  assertKind,
  assertTtl,
  type PutDocumentOptions,
  type StoredDocument,
} from './types';

/*
 * The alert state on Redis. Every key is `<prefix>{alerts}:...`: one hash tag, so every key lives in
 * one slot of a Redis Cluster and each script below touches one slot.
 *
 * NOTE: `LIST` builds document key names from the ids it reads from the index, so those keys cannot
 * be passed in KEYS. They share the `{alerts}` hash tag of KEYS[1], so they live in the slot the
 * script is routed to and the script stays Cluster safe (the counters store does the same).
 */

/** KEYS[1]: lease. ARGV: holder, ttl ms. Takes a free lease (SET NX PX) or extends our own. */
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1]: lease. ARGV: holder, ttl ms. Check-and-extend: only the holder renews. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS[1]: lease. ARGV: holder. Check-and-delete: only the holder releases. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/** KEYS: document, kind index. ARGV: json, ttl ms or '', '1' = only if absent, id. */
const PUT = `
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[4])
return 1
`;

/** KEYS: document, kind index. ARGV: id. */
const DELETE = `
local deleted = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return deleted
`;

/**
 * KEYS[1]: kind index. ARGV[1]: document key prefix of the kind. Returns {id, json, id, json, ...};
 * ids whose document expired are dropped from the index on the way.
 */
const LIST = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local value = redis.call('GET', ARGV[1] .. id)
  if value then
    out[#out + 1] = id
    out[#out + 1] = value
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
`;

const SCRIPTS = {
  flashcaseAlertLeaseAcquire: ACQUIRE,
  flashcaseAlertLeaseRenew: RENEW,
  flashcaseAlertLeaseRelease: RELEASE,
  flashcaseAlertDocPut: PUT,
  flashcaseAlertDocDelete: DELETE,
  flashcaseAlertDocList: LIST,
} as const;

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;
type ScriptedClient = (Redis | Cluster) & Record<keyof typeof SCRIPTS, ScriptCommand>;

/** Options of {@link RedisAlertStateStore}. */
export interface RedisAlertStateStoreOptions {
  /** Every key starts with it (no braces: they are the hash tags). Default `flashcase:`. */
  keyPrefix?: string;
  /** `close()` quits the client too (the store owns it). Default true. */
  closeClient?: boolean;
}

/**
 * The alert state on Redis (or Redis Cluster), shared by every alerting replica: the lease is one
 * Lua script per call (SET NX PX to take it, check-and-extend to renew, check-and-delete to
 * release), so two replicas can never both hold it; documents are JSON strings with an index set
 * per kind. Client errors are thrown as they are.
 */
export class RedisAlertStateStore implements AlertStateStore {
  readonly kind = 'redis' as const;
  /** Every key this store writes starts with it (`<prefix>{alerts}:`). */
  readonly keyBase: string;
  private readonly client: ScriptedClient;
  private readonly closeClient: boolean;

  constructor(
    client: Redis | Cluster,
    { keyPrefix = DEFAULT_KEY_PREFIX, closeClient = true }: RedisAlertStateStoreOptions = {},
  ) {
    if (/[{}]/.test(keyPrefix))
      throw new RangeError(`key prefix must not contain braces (hash tags), got ${keyPrefix}`);
    this.keyBase = `${keyPrefix}{alerts}:`;
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
    this.client = client as ScriptedClient;
    this.closeClient = closeClient;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    assertId(name, 'lease name');
    assertId(holder, 'lease holder');
    assertTtl(ttlMs);
    return Number(await this.client.flashcaseAlertLeaseAcquire(1, this.leaseKey(name), holder, ttlMs)) === 1;
  }

  async renewLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    assertId(name, 'lease name');
    assertTtl(ttlMs);
    return Number(await this.client.flashcaseAlertLeaseRenew(1, this.leaseKey(name), holder, ttlMs)) === 1;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    assertId(name, 'lease name');
    return Number(await this.client.flashcaseAlertLeaseRelease(1, this.leaseKey(name), holder)) === 1;
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    assertId(name, 'lease name');
    return (await this.client.get(this.leaseKey(name))) ?? undefined;
  }

  async getDocument<Value>(kind: string, id: string): Promise<Value | undefined> {
    assertKind(kind);
    assertId(id);
    const json = await this.client.get(this.documentKey(kind, id));
    return json === null ? undefined : (JSON.parse(json) as Value);
  }

  async putDocument(kind: string, id: string, value: unknown, options: PutDocumentOptions = {}): Promise<boolean> {
    assertKind(kind);
    assertId(id);
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError('document value must be JSON-serialisable');
    const written = await this.client.flashcaseAlertDocPut(
      2,
      this.documentKey(kind, id),
      this.indexKey(kind),
      json,
      options.ttlMs ?? '',
      options.onlyIfAbsent ? '1' : '0',
      id,
    );
    return Number(written) === 1;
  }

  async deleteDocument(kind: string, id: string): Promise<boolean> {
    assertKind(kind);
    assertId(id);
    return (
      Number(await this.client.flashcaseAlertDocDelete(2, this.documentKey(kind, id), this.indexKey(kind), id)) > 0
    );
  }

  async listDocuments<Value>(kind: string): Promise<Array<StoredDocument<Value>>> {
    assertKind(kind);
    const reply = await this.client.flashcaseAlertDocList(1, this.indexKey(kind), this.documentKey(kind, ''));
    if (!Array.isArray(reply)) throw new TypeError(`unexpected script reply: ${String(reply)}`);
    const out: Array<StoredDocument<Value>> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      out.push({ id: String(reply[i]), value: JSON.parse(String(reply[i + 1])) as Value });
    }
    return out;
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (!this.closeClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private leaseKey(name: string): string {
    return `${this.keyBase}lease:${name}`;
  }

  private documentKey(kind: string, id: string): string {
    return `${this.keyBase}doc:${kind}:${id}`;
  }

  private indexKey(kind: string): string {
    return `${this.keyBase}index:${kind}`;
  }
}
