import { testMeters } from '@flashcase/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createInstruments } from '../../src/metrics/instruments';

describe('concurrency instruments', () => {
  const meters = testMeters();
  afterEach(() => meters.shutdown());

  it('counts concurrency rejections by limit and tracks open streams up and down', async () => {
    const instruments = createInstruments(meters.meter);
    instruments.aiConcurrencyRejections.add(1, { limit: 'streams' });
    instruments.aiConcurrencyRejections.add(2, { limit: 'upstream_connections' });
    instruments.aiStreamsActive.add(1);
    instruments.aiStreamsActive.add(1);
    instruments.aiStreamsActive.add(-1);
    const points = await meters.points();
    const rejections = points.filter((p) => p.name === 'flashcase.ai.concurrency.rejections');
    expect(rejections.map((p) => [p.attributes.limit, p.value])).toEqual([
      ['streams', 1],
      ['upstream_connections', 2],
    ]);
    expect(points.find((p) => p.name === 'flashcase.ai.streams.active')?.value).toBe(1);
  });
});
