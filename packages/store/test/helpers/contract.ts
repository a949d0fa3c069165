import { afterEach, beforeEach, describe } from 'vitest';
import type { CountersStore } from '../../src/index';
import { describeLimitsContract } from './counters-contract/limits';
import { describePeriodsContract } from './counters-contract/periods';
import { describeRequestStatsContract } from './counters-contract/request-stats';
import { describeUsageContract } from './counters-contract/usage';

/** A fresh, empty store and how to dispose of it (close it, delete its keys). */
export interface StoreFixture {
  store: CountersStore;
  dispose: () => Promise<void>;
}

/**
 * The behaviour every `CountersStore` promises (types.ts, CONTRACT.md section 7), run against each
 * implementation with its own factory. The promises are grouped by concept under
 * `counters-contract/`.
 */
export function describeCountersStore(name: string, create: () => Promise<StoreFixture>): void {
  describe(`${name} counters store`, () => {
    let fixture: StoreFixture;
    let store: CountersStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.dispose();
    });

    describeLimitsContract(() => store);
    describeUsageContract(() => store);
    describePeriodsContract(() => store);
    describeRequestStatsContract(() => store);
  });
}
