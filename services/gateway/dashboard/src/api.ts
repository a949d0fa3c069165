// The five endpoints the page polls, and what a failed call means for the page.

// The usage answers are typed once, where ai-proxy builds them (@flashcase/config's wire types).
import type {
  BudgetJson,
  BudgetUseJson,
  PerActiveUserJson,
  PricingCheckWindowJson,
  ReportUserJson,
  UsageCountersJson,
  UsageJson,
  UsageTimeseriesJson,
  UsageUsersJson,
} from '@flashcase/config';

export type Counters = UsageCountersJson;
export type PricingWindow = PricingCheckWindowJson;
export type Usage = UsageJson;
export type Timeseries = UsageTimeseriesJson;
export type Budget = BudgetJson;
export type PerActiveUser = PerActiveUserJson;

/** A user's use of their daily or monthly budget in the reports. */
export type BudgetUse = BudgetUseJson;
/** One user of `GET /api/v1/ai/usage/users` (ai-proxy's reports route). */
export type ReportUser = ReportUserJson;
/** `GET /api/v1/ai/usage/users?period=day&sort=cost&limit=10` (admin): today's top spenders. */
export type UsersReport = UsageUsersJson;

export interface Alert {
  name: string;
  severity: string;
  state: 'pending' | 'firing' | 'resolved';
  value: number | null;
  threshold: number | null;
  labels: Record<string, string>;
  started_at: string | null;
  resolved_at: string | null;
  summary: string;
  runbook_url?: string;
}

/** `GET /api/v1/alerts` (answered by the alerting service). */
export interface Alerts {
  alerts: Alert[];
}

/** `GET /api/v1/internal/stats?window_s=300`, with the gateway's additive fields. */
export interface Stats {
  window_s: number;
  requests: number;
  status_4xx: number;
  status_5xx: number;
  error_rate: number;
  latency_p50_s: number | null;
  latency_p95_s: number | null;
  latency_p99_s: number | null;
  rate_limited?: number;
  latency_buckets?: { le: number | '+Inf'; count: number }[];
}

/**
 * Why a call gave no data: `auth` (401: no, bad or expired token), `forbidden` (403: not an admin),
 * `unavailable` (502/503/504: the service behind the gateway is down or degraded), `unreachable`
 * (no answer from the gateway at all), `error` (anything else).
 */
export interface Problem {
  kind: 'auth' | 'forbidden' | 'unavailable' | 'unreachable' | 'error';
  status: number;
  code: string;
  message: string;
}

export type Outcome<T> = { ok: true; data: T } | { ok: false; problem: Problem };

const TIMEOUT_MS = 8_000;

function kindOf(status: number): Problem['kind'] {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  return 'error';
}

/** One authenticated GET; never throws. */
export async function getJson<T>(path: string, token: string): Promise<Outcome<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    return {
      ok: false,
      problem: { kind: 'unreachable', status: 0, code: 'unreachable', message: 'The gateway did not answer' },
    };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.ok && body !== undefined) return { ok: true, data: body as T };
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    ok: false,
    problem: {
      kind: kindOf(res.status),
      status: res.status,
      code: typeof error?.code === 'string' ? error.code : `http_${res.status}`,
      message: typeof error?.message === 'string' ? error.message : res.statusText || 'Unexpected answer',
    },
  };
}

export interface Snapshot {
  usage: Outcome<Usage>;
  series: Outcome<Timeseries>;
  alerts: Outcome<Alerts>;
  stats: Outcome<Stats>;
  spenders: Outcome<UsersReport>;
}

/** How many of today's top spenders the page lists (the table's reserved rows). */
export const TOP_SPENDERS = 10;

/** The five calls of one poll, in parallel. */
export async function poll(token: string): Promise<Snapshot> {
  const [usage, series, alerts, stats, spenders] = await Promise.all([
    getJson<Usage>('/api/v1/ai/usage', token),
    getJson<Timeseries>('/api/v1/ai/usage/timeseries?window=1h&step=60', token),
    getJson<Alerts>('/api/v1/alerts', token),
    getJson<Stats>('/api/v1/internal/stats?window_s=300', token),
    getJson<UsersReport>(`/api/v1/ai/usage/users?period=day&sort=cost&limit=${TOP_SPENDERS}`, token),
  ]);
  return { usage, series, alerts, stats, spenders };
}
