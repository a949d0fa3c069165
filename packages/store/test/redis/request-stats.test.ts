import { describe, expect, it } from 'vitest';
import type { RequestStatsDelta } from '../../src/index';
import { requestStatsFields, requestStatsOfReply } from '../../src/redis/request-stats';

describe('redis request stats encoding', () => {
  it('reads back what it writes: a delta as fields, the summed fields as stats', () => {
    const delta: RequestStatsDelta = {
      minuteMs: 0,
      requests: 9,
      status4xx: 2,
      status5xx: 1,
      rateLimited: 3,
      latencyBuckets: [4, 0, 5],
    };
    const fields = requestStatsFields(delta);
    expect(fields).toEqual(['n', 9, 's4', 2, 's5', 1, 's429', 3, 'b0', 4, 'b1', 0, 'b2', 5]);
    // the summing script answers {now, field, sum, ...}
    const stats = requestStatsOfReply([Date.now(), ...fields.map(String)], 300);
    expect(stats).toMatchObject({ requests: 9, status4xx: 2, status5xx: 1, rateLimited: 3 });
    expect(stats.latencyBuckets.slice(0, 3)).toEqual([4, 0, 5]);
  });

  it('ignores unknown fields and leaves no holes in the latency buckets', () => {
    const stats = requestStatsOfReply([0, 'zz', '7', 'b2', '1'], 60);
    expect(stats.requests).toBe(0);
    expect(stats.latencyBuckets[0]).toBe(0);
    expect(stats.latencyBuckets[1]).toBe(0);
    expect(stats.latencyBuckets[2]).toBe(1);
  });
});
