/**
 * Shared state of the alerting service: a lease that elects one evaluator among its replicas, and
 * small JSON documents grouped by kind (alert instances, notification groups, silences, the
 * notification log). Two implementations: Redis (Lua for the lease, hash-tagged `{alerts}` keys,
 * Redis Cluster safe) and an embedded in-process one (a single replica).
 *
 * Times are milliseconds. Names, kinds and ids are validated (see {@link assertKind}).
 */

/** A stored document with its id. */
export interface StoredDocument<Value> {
  id: string;
  value: Value;
}

/** Options of {@link AlertStateStore.putDocument}. */
export interface PutDocumentOptions {
  /** The document disappears this long after the write (it is then neither read nor listed). */
  ttlMs?: number;
  /** Write only when no live document has this id: a claim. `putDocument` then says whether it won. */
  onlyIfAbsent?: boolean;
}

/** Which implementation a store is. */
export type AlertStateStoreKind = 'redis' | 'embedded';

/**
 * The alerting service's shared state.
 *
 * Edge cases: a lease TTL or document TTL below 1 ms is a RangeError; kinds are lower-case words
 * (`alert`, `silence`), ids and lease names are 1-200 printable characters without whitespace; a
 * value must be JSON-serialisable (it is stored as JSON, so `undefined` fields vanish and dates come
 * back as strings). Store errors (Redis away) are thrown as they are: the caller decides.
 */
export interface AlertStateStore {
  readonly kind: AlertStateStoreKind;
  /**
   * Takes the lease `name` for `holder` when nobody holds it (or it expired), or extends it when
   * `holder` already holds it. True when `holder` holds the lease for `ttlMs` from now.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease only when `holder` holds it; false (and nothing changed) otherwise. */
  renewLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up when `holder` holds it (another holder may take it at once); false otherwise. */
  releaseLease(name: string, holder: string): Promise<boolean>;
  /** Who holds the lease now, if anyone. */
  leaseHolder(name: string): Promise<string | undefined>;
  getDocument<Value>(kind: string, id: string): Promise<Value | undefined>;
  /** Writes (replaces) a document; with `onlyIfAbsent`, resolves false when one already exists. */
  putDocument(kind: string, id: string, value: unknown, options?: PutDocumentOptions): Promise<boolean>;
  /** True when a document was deleted. */
  deleteDocument(kind: string, id: string): Promise<boolean>;
  /** Every live document of a kind, in no particular order. */
  listDocuments<Value>(kind: string): Promise<Array<StoredDocument<Value>>>;
  /** Resolves when the store answers (Redis: PING). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const KIND = /^[a-z][a-z0-9_-]{0,39}$/;
const ID = /^[\x21-\x7e]{1,200}$/;

/** Kinds are lower-case words (they are part of key names). */
export function assertKind(kind: string): void {
  if (!KIND.test(kind)) throw new RangeError(`document kind must be a lower-case word, got ${JSON.stringify(kind)}`);
}

/** Ids and lease names: 1-200 printable ASCII characters, no whitespace. */
export function assertId(id: string, what = 'document id'): void {
  if (!ID.test(id)) throw new RangeError(`${what} must be 1-200 printable characters, got ${JSON.stringify(id)}`);
}

/** A whole, positive number of milliseconds. */
export function assertTtl(ttlMs: number, what = 'ttlMs'): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`${what} must be a positive integer, got ${ttlMs}`);
}
