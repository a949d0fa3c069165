import type { WatchedService } from '../rules/types';

/** The gateway's request stats over a window (`GET /api/v1/internal/stats`). */
export interface GatewayStats {
  windowS: number;
  requests: number;
  status5xx: number;
  errorRate: number;
  /** null when the window saw no request. */
  latencyP95S: number | null;
}

/** One health check: `ok` when the service answered 200 with a health body. */
export interface HealthProbe {
  ok: boolean;
  /** `checks.memory.utilization` when the answer carried it. */
  memoryUtilization?: number;
  /** Why the check failed (no secrets: status codes and error codes only). */
  error?: string;
}

/**
 * Where the evaluator reads its signals. Each read throws when the signal cannot be read
 * (`SignalError`), except `health`, whose failure is itself the signal.
 */
export interface SignalReader {
  /** Cluster-wide tokens in the rolling last hour. */
  tokensLastHour(): Promise<number>;
  gatewayStats(windowS: number): Promise<GatewayStats>;
  health(service: WatchedService): Promise<HealthProbe>;
}

/** A signal that could not be read; `message` is safe to log. */
export class SignalError extends Error {
  override readonly name = 'SignalError';
}
