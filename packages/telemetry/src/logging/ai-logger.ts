import { CallsiteCache, type Logger } from './logger';

export interface AIRequestLogFields {
  operation: string;
  model: string;
  tokensUsed: number;
  costEstimate: number;
  durationMs: number;
  userId?: string | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  /** True when the usage was estimated (a stream cut short) rather than reported upstream. */
  estimated?: boolean | undefined;
  /** `success`, or the error code the request ended with. */
  outcome?: string | undefined;
  /** Extra fields; secrets in them are redacted like any others. */
  [extra: string]: unknown;
}

/**
 * The seed's `AILogger`: one usage record per AI request with `operation`, `model`, `tokens_used`,
 * `cost_estimate`, `duration_ms` and `user_id`. Usage records are never sampled away, and never
 * carry prompt or completion text.
 */
export class AILogger {
  private readonly callsite: CallsiteCache;

  /** `oneCallsite`: as for {@link RequestLogger}: set it when one place makes every record. */
  constructor(
    private readonly logger: Logger,
    { oneCallsite = false }: { oneCallsite?: boolean } = {},
  ) {
    this.callsite = new CallsiteCache(oneCallsite);
  }

  logAIRequest(fields: AIRequestLogFields): void {
    const {
      operation,
      model,
      tokensUsed,
      costEstimate,
      durationMs,
      userId,
      promptTokens,
      completionTokens,
      estimated,
      outcome = 'success',
      ...extra
    } = fields;
    const duration = Math.round(durationMs * 100) / 100;
    const level = outcome === 'success' ? 'info' : 'warn';
    // NOTE: one object, given whole (winston's two-argument path completes it in place): with a
    // message and a meta object winston copies both into a new object, and past about 25 fields
    // that copy and everything after it left V8's fast path (the usage record doubled in cost).
    this.logger.log(level, {
      message: `AI ${operation} ${model} ${outcome}: ${tokensUsed} tokens${estimated ? ' (estimated)' : ''}, $${costEstimate.toFixed(6)}`,
      ...this.callsite.fields(AILogger.prototype.logAIRequest),
      ...extra,
      record_type: 'ai_usage',
      operation,
      model,
      tokens_used: tokensUsed,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      tokens_estimated: estimated ?? false,
      cost_estimate: costEstimate,
      duration_ms: duration,
      user_id: userId,
      outcome,
    });
  }
}
