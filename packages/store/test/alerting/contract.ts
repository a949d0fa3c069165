import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertStateStore } from '../../src/index';

export interface AlertStoreFixture {
  /** Two handles on the same state: what two alerting replicas are. */
  replicas: [AlertStateStore, AlertStateStore];
  dispose(): Promise<void>;
}

/**
 * The behaviour every AlertStateStore must have, run against each implementation with real time
 * (leases and TTLs of a few hundred ms).
 */
export function describeAlertStateStore(name: string, open: () => Promise<AlertStoreFixture>): void {
  describe(`alert state store (${name})`, () => {
    let fixture: AlertStoreFixture;
    let a: AlertStateStore;
    let b: AlertStateStore;

    beforeEach(async () => {
      fixture = await open();
      [a, b] = fixture.replicas;
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    describe('evaluator lease', () => {
      it('is held by exactly one replica when both try at once', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireLease('evaluator', `replica-${i}`, 5_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.findIndex(Boolean);
        expect(await a.leaseHolder('evaluator')).toBe(`replica-${winner}`);
      });

      it('is extended by its holder and refused to the other while it lives', async () => {
        expect(await a.acquireLease('evaluator', 'one', 300)).toBe(true);
        expect(await b.acquireLease('evaluator', 'two', 300)).toBe(false);
        await sleep(200);
        expect(await a.renewLease('evaluator', 'one', 300)).toBe(true);
        await sleep(200);
        // 400 ms after the first acquire, alive only because it was renewed
        expect(await b.acquireLease('evaluator', 'two', 300)).toBe(false);
        expect(await a.acquireLease('evaluator', 'one', 300)).toBe(true);
        expect(await b.leaseHolder('evaluator')).toBe('one');
      });

      it('passes to another replica once the holder stops renewing and the TTL ran out', async () => {
        expect(await a.acquireLease('evaluator', 'one', 150)).toBe(true);
        await sleep(250);
        expect(await b.acquireLease('evaluator', 'two', 5_000)).toBe(true);
        expect(await a.renewLease('evaluator', 'one', 5_000)).toBe(false);
        expect(await a.leaseHolder('evaluator')).toBe('two');
      });

      it('can be released only by its holder, and is then free at once', async () => {
        expect(await a.acquireLease('evaluator', 'one', 5_000)).toBe(true);
        expect(await b.releaseLease('evaluator', 'two')).toBe(false);
        expect(await b.renewLease('evaluator', 'two', 5_000)).toBe(false);
        expect(await a.releaseLease('evaluator', 'one')).toBe(true);
        expect(await a.leaseHolder('evaluator')).toBeUndefined();
        expect(await b.acquireLease('evaluator', 'two', 5_000)).toBe(true);
      });

      it('keeps leases of different names apart', async () => {
        expect(await a.acquireLease('evaluator', 'one', 5_000)).toBe(true);
        expect(await b.acquireLease('other', 'two', 5_000)).toBe(true);
      });

      it('refuses a TTL that is not a positive integer', async () => {
        await expect(a.acquireLease('evaluator', 'one', 0)).rejects.toThrow(RangeError);
        await expect(a.acquireLease('evaluator', 'one', 1.5)).rejects.toThrow(RangeError);
      });
    });

    describe('documents', () => {
      it('round-trips JSON documents, shared between replicas', async () => {
        const value = { name: 'HighTokenUsage', labels: { service: 'ai-proxy' }, value: 1.5, tags: ['a'] };
        expect(await a.putDocument('alert', 'fp-1', value)).toBe(true);
        expect(await b.getDocument('alert', 'fp-1')).toEqual(value);
        expect(await b.getDocument('alert', 'missing')).toBeUndefined();
      });

      it('replaces a document on put and lists every live document of one kind only', async () => {
        await a.putDocument('alert', 'fp-1', { v: 1 });
        await a.putDocument('alert', 'fp-1', { v: 2 });
        await a.putDocument('alert', 'fp-2', { v: 3 });
        await a.putDocument('silence', 's-1', { v: 4 });
        const listed = await b.listDocuments<{ v: number }>('alert');
        expect(listed.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
          { id: 'fp-1', value: { v: 2 } },
          { id: 'fp-2', value: { v: 3 } },
        ]);
        expect(await b.listDocuments('group')).toEqual([]);
      });

      it('deletes a document and says whether there was one', async () => {
        await a.putDocument('silence', 's-1', { v: 1 });
        expect(await b.deleteDocument('silence', 's-1')).toBe(true);
        expect(await b.deleteDocument('silence', 's-1')).toBe(false);
        expect(await a.getDocument('silence', 's-1')).toBeUndefined();
        expect(await a.listDocuments('silence')).toEqual([]);
      });

      it('forgets a document after its TTL, in reads and in lists', async () => {
        await a.putDocument('notification', 'n-1', { v: 1 }, { ttlMs: 150 });
        await a.putDocument('notification', 'n-2', { v: 2 });
        expect(await b.getDocument('notification', 'n-1')).toEqual({ v: 1 });
        await sleep(250);
        expect(await b.getDocument('notification', 'n-1')).toBeUndefined();
        expect(await b.listDocuments('notification')).toEqual([{ id: 'n-2', value: { v: 2 } }]);
      });

      it('lets exactly one replica claim an id with onlyIfAbsent', async () => {
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? a : b).putDocument('notification', 'group:1', { by: i }, { onlyIfAbsent: true, ttlMs: 60_000 }),
          ),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        const by = claims.findIndex(Boolean);
        expect(await a.getDocument('notification', 'group:1')).toEqual({ by });
      });

      it('lets a claim be taken again once the earlier one expired', async () => {
        expect(await a.putDocument('notification', 'c', { n: 1 }, { onlyIfAbsent: true, ttlMs: 100 })).toBe(true);
        await sleep(200);
        expect(await b.putDocument('notification', 'c', { n: 2 }, { onlyIfAbsent: true })).toBe(true);
        expect(await a.getDocument('notification', 'c')).toEqual({ n: 2 });
      });

      it('refuses kinds and ids that could break key names', async () => {
        await expect(a.putDocument('Alert Kind', 'x', {})).rejects.toThrow(RangeError);
        await expect(a.putDocument('alert', 'has space', {})).rejects.toThrow(RangeError);
        await expect(a.putDocument('alert', '', {})).rejects.toThrow(RangeError);
        await expect(a.putDocument('alert', 'x', undefined)).rejects.toThrow(TypeError);
      });
    });
  });
}
