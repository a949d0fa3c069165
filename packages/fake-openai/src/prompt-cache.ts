import { type ChatMessageLike, countPromptTokens } from './completion';

/** How many message prefixes a server remembers by default before it stops remembering new ones. */
export const DEFAULT_PROMPT_CACHE_PREFIXES = 50_000;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const MIX_PRIME = 0x5bd1e995;
const OPEN = 0x5b; // '['
const COMMA = 0x2c; // ','
const CLOSE = 0x5d; // ']'
const LOW_BITS = 2 ** 21;

/**
 * The fake's prompt cache. For a request with messages m[0..n-1], the key of each leading run
 * m[0..k] is a hash of `JSON.stringify(m.slice(0, k + 1))`; `lookupAndRemember` answers
 * `countPromptTokens` of the longest leading run (at least one message) whose key an earlier request
 * left behind (0 when none did), then remembers this request's keys.
 *
 * The keys are hashed incrementally over the messages' JSON, so a request costs O(total message
 * length), not O(n²). Memory is bounded: once `maxPrefixes` keys are held, new ones are not
 * remembered (lookups go on; `full` says so) until `clear()`.
 *
 * NOTE: a key is 53 bits, FNV-1a (32 bits, as `digest` computes it) beside a second, multiplicative
 * hash; FNV-1a alone would give a false hit about once in 86 000 lookups against a full cache, which
 * would show as a wrong `cached_tokens` in a long benchmark run.
 */
export class PromptCache {
  readonly #keys = new Set<number>();
  readonly #maxPrefixes: number;

  constructor(maxPrefixes = DEFAULT_PROMPT_CACHE_PREFIXES) {
    if (!Number.isInteger(maxPrefixes) || maxPrefixes < 0) {
      throw new RangeError(`maxPrefixes must be an integer >= 0, got ${maxPrefixes}`);
    }
    this.#maxPrefixes = maxPrefixes;
  }

  /** Keys held. */
  get size(): number {
    return this.#keys.size;
  }

  /** Whether the cache has stopped remembering new prefixes. */
  get full(): boolean {
    return this.#keys.size >= this.#maxPrefixes;
  }

  /** The cached prompt tokens of `messages` given the earlier requests; then remembers its prefixes. */
  lookupAndRemember(messages: readonly ChatMessageLike[]): number {
    const keys = prefixKeys(messages);
    let longest = -1;
    for (let k = 0; k < keys.length; k++) if (this.#keys.has(keys[k] as number)) longest = k;
    for (const key of keys) {
      if (this.#keys.size >= this.#maxPrefixes) break;
      this.#keys.add(key);
    }
    return longest < 0 ? 0 : countPromptTokens(messages.slice(0, longest + 1));
  }

  /** Forgets every prefix. */
  clear(): void {
    this.#keys.clear();
  }
}

/** The key of every leading run of `messages`, shortest first. */
export function prefixKeys(messages: readonly ChatMessageLike[]): number[] {
  const keys: number[] = [];
  let fnv = FNV_OFFSET;
  let mix = 0;
  for (let k = 0; k < messages.length; k++) {
    const json = JSON.stringify(messages[k]) ?? 'null';
    const separator = k === 0 ? OPEN : COMMA;
    fnv = Math.imul(fnv ^ separator, FNV_PRIME);
    mix = Math.imul(mix ^ separator, MIX_PRIME) ^ (mix >>> 15);
    for (let i = 0; i < json.length; i++) {
      const code = json.charCodeAt(i);
      fnv = Math.imul(fnv ^ code, FNV_PRIME);
      mix = Math.imul(mix ^ code, MIX_PRIME) ^ (mix >>> 15);
    }
    const closedFnv = Math.imul(fnv ^ CLOSE, FNV_PRIME) >>> 0;
    const closedMix = (Math.imul(mix ^ CLOSE, MIX_PRIME) ^ (mix >>> 15)) >>> 0;
    keys.push(closedFnv * LOW_BITS + (closedMix >>> 11));
  }
  return keys;
}
