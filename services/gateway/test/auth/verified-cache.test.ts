import { describe, expect, it } from 'vitest';
import { VerifiedCache } from '../../src/auth/verified-cache';

const alice = Object.freeze({ id: 'alice', role: 'user' as const });

describe('verified-token cache', () => {
  it('answers a cached token until its exp plus the leeway, then forgets it', () => {
    const cache = new VerifiedCache(30);
    cache.set('t', { identity: alice, expS: 1_000 });
    expect(cache.get('t', 900)).toBe(alice);
    expect(cache.get('t', 1_029.5)).toBe(alice);
    expect(cache.get('t', 1_030)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.get('t', 900)).toBeUndefined();
  });

  it('knows nothing of a token it was not given', () => {
    expect(new VerifiedCache(30).get('never-seen', 0)).toBeUndefined();
  });

  it('holds at most maxEntries tokens, evicting the oldest first', () => {
    const cache = new VerifiedCache(0, 2);
    cache.set('a', { identity: alice, expS: 100 });
    cache.set('b', { identity: alice, expS: 100 });
    cache.set('c', { identity: alice, expS: 100 });
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('b', 0)).toBe(alice);
    expect(cache.get('c', 0)).toBe(alice);
  });
});
