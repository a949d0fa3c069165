import type { Identity } from '@flashcase/telemetry';

/** A verified token's caller and expiry (`exp`, in seconds since the epoch). */
export interface VerifiedToken {
  identity: Identity;
  expS: number;
}

/**
 * Remembers verified tokens until they expire, bounded, the oldest evicted first: a client sends the
 * same token on every call, and verifying its signature once is enough. `exp` is re-checked on every
 * hit with the same leeway verification allows, so a cached token stops working when it expires.
 */
export class VerifiedCache {
  private readonly entries = new Map<string, VerifiedToken>();

  /**
   * @param leewayS seconds a token stays valid past its `exp` (the verifier's clock tolerance)
   * @param maxEntries most tokens held; a new one past it evicts the oldest
   */
  constructor(
    private readonly leewayS: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The caller of a still valid cached token, or undefined (an expired entry is dropped). */
  get(token: string, nowS: number): Identity | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.expS + this.leewayS <= nowS) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.identity;
  }

  set(token: string, value: VerifiedToken): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(token, value);
  }

  /** How many tokens are held. */
  get size(): number {
    return this.entries.size;
  }
}
