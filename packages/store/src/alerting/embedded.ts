import {
  type AlertStateStore,
  assertId,
  assertKind,
  assertTtl,
  type PutDocumentOptions,
  type StoredDocument,
} from './types';

/** Options of {@link EmbeddedAlertStateStore}. */
export interface EmbeddedAlertStateStoreOptions {
  /** Clock (ms since epoch); tests pass a fake one. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  json: string;
  expiresAtMs?: number;
}

/**
 * The alert state in this process only (no `REDIS_URL`): one alerting replica. Values are kept as
 * JSON text, so a caller never shares an object with the store (the same semantics as Redis).
 */
export class EmbeddedAlertStateStore implements AlertStateStore {
  readonly kind = 'embedded' as const;
  private readonly now: () => number;
  private readonly leases = new Map<string, { holder: string; expiresAtMs: number }>();
  private readonly documents = new Map<string, Map<string, Entry>>();

  constructor({ now = Date.now }: EmbeddedAlertStateStoreOptions = {}) {
    this.now = now;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    assertId(name, 'lease name');
    assertId(holder, 'lease holder');
    assertTtl(ttlMs);
    const current = this.liveLease(name);
    if (current && current.holder !== holder) return false;
    this.leases.set(name, { holder, expiresAtMs: this.now() + ttlMs });
    return true;
  }

  async renewLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    assertId(name, 'lease name');
    assertTtl(ttlMs);
    const current = this.liveLease(name);
    if (current?.holder !== holder) return false;
    current.expiresAtMs = this.now() + ttlMs;
    return true;
  }

  async releaseLease(name: string, holder: string): Promise<boolean> {
    assertId(name, 'lease name');
    if (this.liveLease(name)?.holder !== holder) return false;
    this.leases.delete(name);
    return true;
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    assertId(name, 'lease name');
    return this.liveLease(name)?.holder;
  }

  async getDocument<Value>(kind: string, id: string): Promise<Value | undefined> {
    assertKind(kind);
    assertId(id);
    const entry = this.liveEntry(kind, id);
    return entry ? (JSON.parse(entry.json) as Value) : undefined;
  }

  async putDocument(kind: string, id: string, value: unknown, options: PutDocumentOptions = {}): Promise<boolean> {
    assertKind(kind);
    assertId(id);
    if (options.ttlMs !== undefined) assertTtl(options.ttlMs);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError('document value must be JSON-serialisable');
    if (options.onlyIfAbsent && this.liveEntry(kind, id)) return false;
    let byId = this.documents.get(kind);
    if (!byId) {
      byId = new Map();
      this.documents.set(kind, byId);
    }
    byId.set(id, options.ttlMs === undefined ? { json } : { json, expiresAtMs: this.now() + options.ttlMs });
    return true;
  }

  async deleteDocument(kind: string, id: string): Promise<boolean> {
    assertKind(kind);
    assertId(id);
    const live = this.liveEntry(kind, id) !== undefined;
    this.documents.get(kind)?.delete(id);
    return live;
  }

  async listDocuments<Value>(kind: string): Promise<Array<StoredDocument<Value>>> {
    assertKind(kind);
    const out: Array<StoredDocument<Value>> = [];
    for (const id of [...(this.documents.get(kind)?.keys() ?? [])]) {
      const entry = this.liveEntry(kind, id);
      if (entry) out.push({ id, value: JSON.parse(entry.json) as Value });
    }
    return out;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.leases.clear();
    this.documents.clear();
  }

  private liveLease(name: string) {
    const lease = this.leases.get(name);
    if (lease && lease.expiresAtMs <= this.now()) {
      this.leases.delete(name);
      return undefined;
    }
    return lease;
  }

  /** The entry when it has not expired; an expired one is dropped on the way. */
  private liveEntry(kind: string, id: string): Entry | undefined {
    const byId = this.documents.get(kind);
    const entry = byId?.get(id);
    if (entry?.expiresAtMs !== undefined && entry.expiresAtMs <= this.now()) {
      byId?.delete(id);
      return undefined;
    }
    return entry;
  }
}
