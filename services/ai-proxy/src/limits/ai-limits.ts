import { randomUUID } from 'node:crypto';
import {
  type CountersStore,
  type InflightCall,
  type RateLimitDecision,
  StoreUnavailableError,
  type WindowLimit,
} from '@flashcase/store';
import { currentRequestId, HttpError, type Instruments } from '@flashcase/telemetry';
import { trace } from '@opentelemetry/api';
import type { SpendAdmission, SpendBudgets } from '../budgets/spend-budgets';

export interface AiLimitsOptions {
  perMinute: number;
  perHour: number;
  /** Tokens per user per rolling hour; 0 = off. */
  tokenBudgetPerHour: number;
}

export interface Admission {
  /** For the `RateLimit-*` headers of the answer. */
  headers: Record<string, string>;
  /** Settles the token and spend budgets' reservations to the real usage and cost (no-op when off). */
  settle(tokens: number, costTicks: number): Promise<void>;
}

/** What a call may use at worst: its prompt estimate plus `max_tokens` per choice, and that priced. */
export interface WorstCase {
  tokens(): number;
  ticks(): number;
}

const HOUR_MS = 3_600_000;

/** `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers, the contract's names). */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(Math.max(0, decision.remaining)),
    'RateLimit-Reset': String(Math.ceil(decision.resetMs / 1000)),
  };
}

/** A 429 in the contract's shape for limit `limit`. */
export function rateLimited(limit: string, retryAfterMs: number, headers: Record<string, string>, message: string) {
  const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError(429, 'rate_limited', message, {
    headers: { ...headers, 'Retry-After': String(retryAfterS) },
    details: { limit, retry_after_s: retryAfterS },
  });
}

/** The token budget's 429 (`budget_exceeded`, budget `user_hourly_tokens`). */
function tokenBudgetExceeded(
  limitTokens: number,
  retryAfterMs: number,
  message: string,
  headers: Record<string, string>,
) {
  const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError(429, 'budget_exceeded', message, {
    headers: { ...headers, 'Retry-After': String(retryAfterS) },
    details: { budget: 'user_hourly_tokens', limit_tokens: limitTokens, retry_after_s: retryAfterS },
  });
}

function storeDown(err: unknown): HttpError {
  return new HttpError(503, 'store_unavailable', 'AI calls are refused while the counters store is unreachable', {
    cause: err,
    headers: { 'Retry-After': '5' },
  });
}

/**
 * The AI limits of one user: rolling per-minute and per-hour request windows checked and recorded
 * in one atomic store step, then (when on) a token budget reserved as prompt estimate + max_tokens
 * and settled to the real usage afterwards, so concurrent calls cannot overshoot it.
 */
export class AiLimits {
  private readonly windows: WindowLimit[];

  constructor(
    private readonly store: CountersStore,
    private readonly instruments: Instruments,
    private readonly options: AiLimitsOptions,
    private readonly spend?: SpendBudgets,
  ) {
    this.windows = [
      { name: 'ai_per_minute', limit: options.perMinute, windowMs: 60_000 },
      { name: 'ai_per_hour', limit: options.perHour, windowMs: HOUR_MS },
    ].filter((w) => w.limit > 0);
  }

  /**
   * Admits one AI call or throws the contract's 429 (or 503 when the store refuses in closed mode).
   * With `call`, its in-flight record is written by the same store step that checks the rate
   * limits (one script on standalone Redis; one round trip otherwise), and dropped again when the
   * token budget refuses. The record keeps the request and trace ids, for the usage record a
   * surviving replica writes if this one dies.
   */
  async admit(userId: string, inflight: InflightCall | undefined, worst: WorstCase): Promise<Admission> {
    const call = inflight && withRequest(inflight);
    let headers: Record<string, string> = {};
    let begun = false;
    try {
      if (this.windows.length > 0 || call) {
        const decision = await this.store.hit(`ai:${userId}`, this.windows, call);
        if (this.windows.length > 0) headers = rateLimitHeaders(decision);
        if (!decision.allowed) {
          const limit = decision.limitName ?? 'ai_per_minute';
          this.instruments.rateLimitRejections.add(1, { limit });
          throw rateLimited(limit, decision.retryAfterMs, headers, `AI rate limit exceeded (${limit})`);
        }
        begun = call !== undefined;
      }
      const budget = this.options.tokenBudgetPerHour;
      let settleTokens: (used: number) => Promise<void> = async () => {};
      if (budget > 0) {
        const tokens = worst.tokens();
        const reservationId = randomUUID();
        const decision = await this.store.reserveBudget(`budget:${userId}`, reservationId, tokens, budget, HOUR_MS);
        if (!decision.allowed) {
          if (this.spend) this.spend.noteRefusal('user_hourly_tokens');
          else this.instruments.budgetRejections.add(1, { budget: 'user_hourly_tokens' });
          const message =
            tokens > budget
              ? `This request may use up to ${tokens} tokens, more than the hourly token budget of ${budget}`
              : `Hourly token budget exceeded (${decision.used} of ${budget} tokens used or reserved)`;
          throw tokenBudgetExceeded(budget, decision.retryAfterMs, message, headers);
        }
        settleTokens = (used) =>
          this.store.settleBudget(`budget:${userId}`, reservationId, used, HOUR_MS).catch(() => {});
      }
      let spend: SpendAdmission | undefined;
      if (this.spend?.applies()) {
        try {
          spend = await this.spend.admit(userId, worst.ticks);
        } catch (err) {
          await settleTokens(0);
          throw err;
        }
      }
      if (budget <= 0 && spend === undefined) return { headers, settle: async () => {} };
      return {
        headers,
        settle: async (used: number, costTicks: number) => {
          await Promise.all([settleTokens(used), spend?.settle(costTicks)]);
        },
      };
    } catch (err) {
      // Refused after the hit began the call (the budget, or the store in closed mode): never an orphan.
      if (begun && call) void this.store.cancelCall(call.callId).catch(() => undefined);
      if (err instanceof StoreUnavailableError) throw storeDown(err);
      throw err;
    }
  }
}

/** The call with the current request's id and trace id (when there is one). */
function withRequest(call: InflightCall): InflightCall {
  const requestId = call.requestId ?? currentRequestId();
  const span = trace.getActiveSpan()?.spanContext();
  const traceId = call.traceId ?? (span && trace.isSpanContextValid(span) ? span.traceId : undefined);
  return { ...call, ...(requestId ? { requestId } : {}), ...(traceId ? { traceId } : {}) };
}
