import { describe, expect, it } from 'vitest';
import { EmbeddedAlertStateStore, openAlertStateStore } from '../../src/index';
import { describeAlertStateStore } from './contract';

describeAlertStateStore('embedded', async () => {
  // NOTE: one process holds the embedded state, so both "replicas" are the same object.
  const store = new EmbeddedAlertStateStore();
  return { replicas: [store, store], dispose: () => store.close() };
});

describe('embedded alert state store with a clock the test moves', () => {
  it('expires leases and documents by the injected clock, not by wall time', async () => {
    let now = 1_000_000;
    const store = new EmbeddedAlertStateStore({ now: () => now });
    expect(await store.acquireLease('evaluator', 'one', 5_000)).toBe(true);
    await store.putDocument('alert', 'a', { v: 1 }, { ttlMs: 10_000 });
    now += 5_000;
    expect(await store.leaseHolder('evaluator')).toBeUndefined();
    expect(await store.acquireLease('evaluator', 'two', 5_000)).toBe(true);
    expect(await store.getDocument('alert', 'a')).toEqual({ v: 1 });
    now += 5_000;
    expect(await store.getDocument('alert', 'a')).toBeUndefined();
  });

  it('never shares an object with the caller', async () => {
    const store = new EmbeddedAlertStateStore();
    const value = { labels: { a: '1' } };
    await store.putDocument('alert', 'a', value);
    value.labels.a = 'changed';
    const read = await store.getDocument<typeof value>('alert', 'a');
    expect(read?.labels.a).toBe('1');
  });

  it('is what openAlertStateStore gives without REDIS_URL', async () => {
    const handle = openAlertStateStore({ keyPrefix: 'x:', commandTimeoutMs: 500 });
    expect(handle.store.kind).toBe('embedded');
    expect(handle.state()).toBe('embedded');
    await handle.ready();
    await handle.store.close();
  });
});
