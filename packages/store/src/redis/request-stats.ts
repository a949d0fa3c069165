import { emptyRequestStats } from '../stats/request-stats';
import type { RequestStats, RequestStatsDelta } from '../types';

/** Request stats hash fields: `n`, `s4`, `s5`, `s429`, then `b0`.. per latency bucket. */
const REQUEST_FIELDS = { requests: 'n', status4xx: 's4', status5xx: 's5', rateLimited: 's429' } as const;

/** A delta as the field, increment pairs the request stats script adds to its minute's hash. */
export function requestStatsFields(delta: RequestStatsDelta): (string | number)[] {
  const fields: (string | number)[] = [
    REQUEST_FIELDS.requests,
    delta.requests,
    REQUEST_FIELDS.status4xx,
    delta.status4xx,
    REQUEST_FIELDS.status5xx,
    delta.status5xx,
    REQUEST_FIELDS.rateLimited,
    delta.rateLimited ?? 0,
  ];
  delta.latencyBuckets.forEach((n, i) => {
    fields.push(`b${i}`, n);
  });
  return fields;
}

/** The stats of a window from the summing script's `{now, field, sum, ...}` reply; unknown fields are ignored. */
export function requestStatsOfReply(reply: readonly unknown[], windowS: number): RequestStats {
  const stats = emptyRequestStats(windowS);
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const field = String(reply[i]);
    const value = Number(reply[i + 1]);
    if (field === REQUEST_FIELDS.requests) stats.requests = value;
    else if (field === REQUEST_FIELDS.status4xx) stats.status4xx = value;
    else if (field === REQUEST_FIELDS.status5xx) stats.status5xx = value;
    else if (field === REQUEST_FIELDS.rateLimited) stats.rateLimited = value;
    else if (/^b\d{1,3}$/.test(field)) stats.latencyBuckets[Number(field.slice(1))] = value;
  }
  // A longer latency array from a writer with more buckets leaves no holes.
  for (let i = 0; i < stats.latencyBuckets.length; i++) stats.latencyBuckets[i] ??= 0;
  return stats;
}
