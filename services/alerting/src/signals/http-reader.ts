import { createHmac } from 'node:crypto';
import type { UsageDigestJson } from '@flashcase/config';
import { IDENTITY_HEADERS, memoryCheck } from '@flashcase/telemetry';
import { Agent, request } from 'undici';
import type { WatchedService } from '../rules/alert-rule';
import {
  type AiUsage,
  type GatewayStats,
  type HealthProbe,
  type MonthlyBudget,
  SignalError,
  type SignalReader,
  type UserBudgetName,
  type UserNearBudget,
} from './reader';

/** Options of {@link HttpSignalReader}. */
export interface HttpSignalReaderOptions {
  gatewayUrl: string;
  aiProxyUrl: string;
  /** `INTERNAL_TOKEN`, sent as `x-internal-token` to both services. */
  internalToken?: string | undefined;
  /**
   * HS256 secret (`JWT_SECRET`, or the development secret) used only when there is no internal
   * token: the gateway's stats route then wants an admin JWT, which alerting signs for itself.
   */
  jwtSecret?: string | undefined;
  /** Longest wait for any answer. */
  timeoutMs: number;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A short-lived HS256 admin token for `sub: alerting`. */
function adminJwt(secret: string, nowS: number, ttlS: number): string {
  const head = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url({ sub: 'alerting', role: 'admin', iat: nowS, exp: nowS + ttlS })}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function finiteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Reads the signals through the services' own APIs, on loopback or the cluster network:
 * ai-proxy `GET /api/v1/ai/usage` (as `alerting`, admin: the tokens and the pricing check in one
 * call), gateway `GET /api/v1/internal/stats` (internal token, else a self-signed admin JWT), and
 * each service's `GET /api/v1/health`; alerting's own memory is read in-process. Every call has a
 * timeout and a fresh connection (a pooled socket to a restarted service must not count as a
 * failed health check).
 */
export class HttpSignalReader implements SignalReader {
  private readonly agent: Agent;
  private cachedJwt: { token: string; expiresS: number } | undefined;

  constructor(private readonly options: HttpSignalReaderOptions) {
    this.agent = new Agent({ connectTimeout: options.timeoutMs, pipelining: 0 });
  }

  async aiUsage(): Promise<AiUsage> {
    const body = (await this.getJson(
      `${this.options.aiProxyUrl}/api/v1/ai/usage`,
      'ai-proxy usage',
      this.adminHeaders(),
    )) as {
      last_hour?: { total_tokens?: unknown } | null;
      pricing_check?: { last_24h?: { calls_billed?: unknown; drift_ratio?: unknown } | null } | null;
      budgets?: unknown;
      users_near_budget?: unknown;
    };
    const tokens = body.last_hour?.total_tokens;
    const check = body.pricing_check?.last_24h;
    const callsBilled = check?.calls_billed;
    const driftRatio = check?.drift_ratio;
    return {
      tokensLastHour: finiteNumber(tokens) ? tokens : undefined,
      pricingCheck24h:
        finiteNumber(callsBilled) && callsBilled >= 0 && finiteNumber(driftRatio)
          ? { callsBilled, driftRatio }
          : undefined,
      monthlyBudget: monthlyBudget(body.budgets),
      usersNearBudget: usersNearBudget(body.users_near_budget),
    };
  }

  async userBudgets(userId: string): Promise<Record<UserBudgetName, number | null>> {
    const body = (await this.getJson(
      `${this.options.aiProxyUrl}/api/v1/ai/budgets/users/${encodeURIComponent(userId)}`,
      'ai-proxy user budgets',
      this.adminHeaders(),
    )) as { budgets?: unknown };
    const out: Record<UserBudgetName, number | null> = { user_daily_usd: null, user_monthly_usd: null };
    if (!Array.isArray(body.budgets)) throw new SignalError('ai-proxy user budgets: answer has no budgets');
    for (const entry of body.budgets as Array<Record<string, unknown>>) {
      const { budget, limit_usd: limit, spent_usd: spent, held_usd: held } = entry ?? {};
      if (budget !== 'user_daily_usd' && budget !== 'user_monthly_usd') continue;
      out[budget] =
        finiteNumber(limit) && limit > 0 && finiteNumber(spent)
          ? (spent + (finiteNumber(held) ? held : 0)) / limit
          : null;
    }
    return out;
  }

  /**
   * ai-proxy `GET /api/v1/ai/usage/digest?date=` (admin): one local day's review for the daily
   * digest. An answer without the day's figures is a {@link SignalError}.
   */
  async usageDigest(date: string): Promise<UsageDigestJson> {
    const body = (await this.getJson(
      `${this.options.aiProxyUrl}/api/v1/ai/usage/digest?date=${encodeURIComponent(date)}`,
      'ai-proxy usage digest',
      this.adminHeaders(),
    )) as Partial<UsageDigestJson>;
    const figures = (f: unknown) =>
      typeof f === 'object' && f !== null && finiteNumber((f as { cost_usd?: unknown }).cost_usd);
    if (
      body.date !== date ||
      !figures(body.day) ||
      !figures(body.previous_day) ||
      !figures(body.last_7_days_average) ||
      !Array.isArray(body.top_users) ||
      !Array.isArray(body.top_operations) ||
      !Array.isArray(body.top_models) ||
      !Array.isArray(body.users_near_budget) ||
      typeof body.budget_refusals !== 'object' ||
      typeof body.per_active_user !== 'object'
    ) {
      throw new SignalError(`ai-proxy usage digest: the answer for ${date} lacks the digest's fields`);
    }
    return body as UsageDigestJson;
  }

  async gatewayStats(windowS: number): Promise<GatewayStats> {
    const headers = this.internalHeaders();
    if (!this.options.internalToken && this.options.jwtSecret) headers.authorization = `Bearer ${this.jwt()}`;
    const body = (await this.getJson(
      `${this.options.gatewayUrl}/api/v1/internal/stats?window_s=${windowS}`,
      'gateway stats',
      headers,
    )) as Record<string, unknown>;
    const { requests, status_5xx: status5xx, error_rate: errorRate, latency_p95_s: p95 } = body;
    if (!finiteNumber(requests) || !finiteNumber(status5xx) || !finiteNumber(errorRate)) {
      throw new SignalError('gateway stats: answer lacks requests, status_5xx or error_rate');
    }
    if (p95 !== null && !finiteNumber(p95)) throw new SignalError('gateway stats: latency_p95_s is not a number');
    return { windowS, requests, status5xx, errorRate, latencyP95S: p95 };
  }

  async health(service: WatchedService): Promise<HealthProbe> {
    if (service === 'alerting') return { ok: true, memoryUtilization: memoryCheck().utilization };
    const base = service === 'gateway' ? this.options.gatewayUrl : this.options.aiProxyUrl;
    try {
      const res = await request(`${base}/api/v1/health`, this.requestOptions({}));
      const text = await res.body.text();
      let memoryUtilization: number | undefined;
      try {
        const utilization = (JSON.parse(text) as { checks?: { memory?: { utilization?: unknown } } }).checks?.memory
          ?.utilization;
        if (finiteNumber(utilization)) memoryUtilization = utilization;
      } catch {
        return { ok: false, error: `HTTP ${res.statusCode}, not JSON` };
      }
      if (res.statusCode !== 200) return { ok: false, error: `HTTP ${res.statusCode}`, ...optional(memoryUtilization) };
      return { ok: true, ...optional(memoryUtilization) };
    } catch (err) {
      return { ok: false, error: errorCode(err) };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** ai-proxy's admin routes, as `alerting`. */
  private adminHeaders(): Record<string, string> {
    return {
      ...this.internalHeaders(),
      [IDENTITY_HEADERS.userId]: 'alerting',
      [IDENTITY_HEADERS.userRole]: 'admin',
    };
  }

  private internalHeaders(): Record<string, string> {
    return this.options.internalToken ? { [IDENTITY_HEADERS.internalToken]: this.options.internalToken } : {};
  }

  private jwt(): string {
    const nowS = Math.floor(Date.now() / 1000);
    if (!this.cachedJwt || this.cachedJwt.expiresS - 60 < nowS) {
      this.cachedJwt = { token: adminJwt(this.options.jwtSecret ?? '', nowS, 300), expiresS: nowS + 300 };
    }
    return this.cachedJwt.token;
  }

  private requestOptions(headers: Record<string, string>) {
    return {
      method: 'GET' as const,
      headers: { accept: 'application/json', ...headers },
      dispatcher: this.agent,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      signal: AbortSignal.timeout(this.options.timeoutMs),
      reset: true,
    };
  }

  private async getJson(url: string, what: string, headers: Record<string, string>): Promise<unknown> {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, this.requestOptions(headers));
    } catch (err) {
      throw new SignalError(`${what}: ${errorCode(err)}`);
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode !== 200) throw new SignalError(`${what}: HTTP ${res.statusCode}`);
    try {
      const body = JSON.parse(text) as unknown;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
      return body;
    } catch {
      throw new SignalError(`${what}: answer is not a JSON object`);
    }
  }
}

/** `budgets[monthly_usd]` of the usage answer; undefined when absent or malformed. */
function monthlyBudget(budgets: unknown): MonthlyBudget | undefined {
  if (!Array.isArray(budgets)) return undefined;
  const entry = (budgets as Array<Record<string, unknown> | null>).find((b) => b?.budget === 'monthly_usd');
  if (!entry || !finiteNumber(entry.spent_usd)) return undefined;
  const limit = entry.limit_usd;
  if (limit !== null && !finiteNumber(limit)) return undefined;
  const refused = finiteNumber(entry.refused_today) ? entry.refused_today : 0;
  return { spentUsd: entry.spent_usd, limitUsd: limit === null || limit <= 0 ? null : limit, refusedToday: refused };
}

/** `users_near_budget` of the usage answer; malformed entries are dropped, a missing list is undefined. */
function usersNearBudget(list: unknown): UserNearBudget[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: UserNearBudget[] = [];
  for (const entry of list as Array<Record<string, unknown> | null>) {
    const userId = entry?.user_id;
    const budget = entry?.budget;
    const ratio = entry?.used_ratio;
    if (typeof userId !== 'string' || userId === '' || !finiteNumber(ratio)) continue;
    if (budget !== 'user_daily_usd' && budget !== 'user_monthly_usd') continue;
    out.push({ userId, budget, usedRatio: ratio });
  }
  return out;
}

function optional(memoryUtilization: number | undefined): { memoryUtilization?: number } {
  return memoryUtilization === undefined ? {} : { memoryUtilization };
}

/** A network error as a short code (`ECONNREFUSED`, `timeout`), never a URL with secrets. */
function errorCode(err: unknown): string {
  const error = err as { code?: string; name?: string; cause?: { code?: string } };
  if (error?.name === 'TimeoutError' || error?.code === 'UND_ERR_HEADERS_TIMEOUT') return 'timeout';
  return error?.cause?.code ?? error?.code ?? error?.name ?? 'error';
}
