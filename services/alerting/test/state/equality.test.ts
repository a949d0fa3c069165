import { describe, expect, it } from 'vitest';
import { sameDocument } from '../../src/state/equality';

describe('sameDocument (value equality of stored records)', () => {
  it('ignores the order of keys, at any depth', () => {
    expect(sameDocument({ a: 1, b: { c: 2, d: [1, 2] } }, { b: { d: [1, 2], c: 2 }, a: 1 })).toBe(true);
  });

  it('tells apart a changed value, a missing key, an extra key and a changed array', () => {
    expect(sameDocument({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameDocument({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(sameDocument({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameDocument({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameDocument({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
  });

  it('counts a key whose value is undefined as absent, as the stored JSON does', () => {
    expect(sameDocument({ a: 1, resolvedAtMs: undefined }, { a: 1 })).toBe(true);
    expect(sameDocument({ a: 1 }, { a: 1, resolvedAtMs: undefined })).toBe(true);
    expect(sameDocument({ a: 1, resolvedAtMs: 5 }, { a: 1 })).toBe(false);
  });

  it('compares null, undefined, numbers and strings exactly, and never an array with an object', () => {
    expect(sameDocument(null, null)).toBe(true);
    expect(sameDocument(undefined, undefined)).toBe(true);
    expect(sameDocument(null, undefined)).toBe(false);
    expect(sameDocument({ value: null }, { value: 0 })).toBe(false);
    expect(sameDocument('1', 1)).toBe(false);
    expect(sameDocument([], {})).toBe(false);
    expect(sameDocument({ a: 1 }, undefined)).toBe(false);
  });
});
