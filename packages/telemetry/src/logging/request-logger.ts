import { CallsiteCache, keepRoutineLog, type Logger } from './logger';

export interface RequestLogFields {
  method: string;
  endpoint: string;
  statusCode: number;
  durationMs: number;
  userId?: string | undefined;
  requestId?: string | undefined;
}

/**
 * The seed's `RequestLogger`: one record per HTTP request with `method`, `endpoint`, `status_code`,
 * `duration_ms` and `user_id`. 5xx are errors and 4xx warnings (always kept); the rest are routine
 * `info` records, kept at `LOG_SAMPLE_RATE`.
 */
export class RequestLogger {
  private readonly callsite: CallsiteCache;

  /**
   * `oneCallsite`: this instance is only ever called from one place (a middleware), so the record's
   * `module`/`function`/`line` are found once, not per request. Leave it off for a logger shared by
   * several callers: each record then names its own caller.
   */
  constructor(
    private readonly logger: Logger,
    { oneCallsite = false }: { oneCallsite?: boolean } = {},
  ) {
    this.callsite = new CallsiteCache(oneCallsite);
  }

  logRequest({ method, endpoint, statusCode, durationMs, userId, requestId }: RequestLogFields): void {
    const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
    if (level === 'info' && !keepRoutineLog()) return;
    const duration = Math.round(durationMs * 100) / 100;
    this.logger.log(level, `${method} ${endpoint} ${statusCode} ${duration}ms`, {
      ...this.callsite.fields(RequestLogger.prototype.logRequest),
      method,
      endpoint,
      status_code: statusCode,
      duration_ms: duration,
      user_id: userId,
      request_id: requestId,
    });
  }
}
