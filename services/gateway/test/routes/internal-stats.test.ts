import { LATENCY_BUCKETS_S } from '@flashcase/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHarness, INTERNAL_TOKEN, startGateway } from '../helpers/harness';

interface StatsAnswer {
  window_s: number;
  requests: number;
  status_4xx: number;
  status_5xx: number;
  error_rate: number;
  latency_p50_s: number | null;
  latency_p95_s: number | null;
  latency_p99_s: number | null;
  rate_limited: number;
  latency_buckets: { le: number | '+Inf'; count: number }[];
}

describe('internal stats for the dashboard', () => {
  let g: GatewayHarness;
  beforeAll(async () => {
    g = await startGateway({ RATE_LIMIT_GENERAL_PER_MINUTE: '2', RATE_LIMIT_GENERAL_PER_HOUR: '100' });
  });
  afterAll(() => g.close());

  const get = (path: string, token: string) =>
    fetch(`${g.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const stats = async () => {
    await g.stats.flush();
    const res = await fetch(`${g.base}/api/v1/internal/stats?window_s=300`, {
      headers: { 'x-internal-token': INTERNAL_TOKEN },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as StatsAnswer;
  };

  it('keeps the contract fields and adds the 429 count and the latency histogram behind the quantiles', async () => {
    const student = g.token('student-429');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get('/api/v1/ai/usage/me', student)).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429]);

    const body = await stats();
    expect(Object.keys(body)).toEqual([
      'window_s',
      'requests',
      'status_4xx',
      'status_5xx',
      'error_rate',
      'latency_p50_s',
      'latency_p95_s',
      'latency_p99_s',
      'rate_limited',
      'latency_buckets',
    ]);
    expect(body).toMatchObject({ window_s: 300, requests: 5, status_4xx: 3, status_5xx: 0, rate_limited: 3 });
    // One entry per store bucket, upper bounds in seconds, +Inf last; counts sum to the requests.
    expect(body.latency_buckets.map((b) => b.le)).toEqual(
      LATENCY_BUCKETS_S.map((le) => (Number.isFinite(le) ? le : '+Inf')),
    );
    expect(body.latency_buckets.reduce((sum, b) => sum + b.count, 0)).toBe(body.requests);
    // The quantiles come from those very buckets: p50 lies inside the bucket holding the median.
    let below = 0;
    const median = body.latency_buckets.findIndex((b) => {
      below += b.count;
      return below >= body.requests / 2;
    });
    const lower = median > 0 ? (body.latency_buckets[median - 1]?.le as number) : 0;
    const upper = body.latency_buckets[median]?.le as number;
    expect(body.latency_p50_s).toBeGreaterThanOrEqual(lower);
    expect(body.latency_p50_s).toBeLessThanOrEqual(upper);
  });

  it('exempts admin monitoring reads from the general limits and leaves them out of the stats', async () => {
    const before = await stats();
    const admin = g.token('ops', 'admin');
    for (let i = 0; i < 6; i++) {
      expect((await get('/api/v1/ai/usage', admin)).status).toBe(200);
      expect((await get('/api/v1/ai/usage/timeseries?window=1h&step=60', admin)).status).toBe(200);
      expect((await get('/api/v1/ai/usage/users?period=day&sort=cost&limit=10', admin)).status).toBe(200);
      expect((await get('/api/v1/internal/stats?window_s=300', admin)).status).toBe(200);
    }
    // Alerting is not running here: the relayed 502s are not the users' error rate either.
    expect((await get('/api/v1/alerts', admin)).status).toBe(502);
    // The exemption is for admins' reads only: a user is limited on the same path (then refused).
    const user = g.token('curious-student');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await get('/api/v1/ai/usage', user)).status);
    expect(answers).toEqual([403, 403, 429]);
    // And an admin's other calls still count against the admin's limits.
    const own = [];
    for (let i = 0; i < 3; i++) own.push((await get('/api/v1/ai/usage/me', admin)).status);
    expect(own).toEqual([200, 200, 429]);

    // Counted: the admin's three own calls and both 429s (a refusal happens before any route matches).
    const after = await stats();
    expect(after.requests - before.requests).toBe(4);
    expect(after.status_5xx).toBe(before.status_5xx);
    expect(after.rate_limited - before.rate_limited).toBe(2);
  });
});
