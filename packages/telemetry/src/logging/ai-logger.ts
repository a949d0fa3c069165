import { hostname } from 'node:os';
import { currentRequestId, markRequestRecorded } from '../http/request-context';
import { CallsiteCache, type Logger } from './logger';

/**
 * This process's replica id unless one is given: the host name (a container's or pod's) and the
 * start time, so a restarted replica (whose sequence starts again at 1) is a new replica.
 */
export const PROCESS_REPLICA_ID = `${hostname()}:${Date.now().toString(36)}`;

/** The last sequence number per replica id, shared by every AILogger of the process. */
const sequences = new Map<string, number>();

export interface AIRequestLogFields {
  operation: string;
  model: string;
  tokensUsed: number;
  costEstimate: number;
  durationMs: number;
  userId?: string | undefined;
  promptTokens?: number | undefined;
  completionTokens?: number | undefined;
  /** The request the call served; default the current request's (`currentRequestId()`). */
  requestId?: string | undefined;
  /** True when the usage was estimated (a stream cut short) rather than reported upstream. */
  estimated?: boolean | undefined;
  /** `success`, or the error code the request ended with. */
  outcome?: string | undefined;
  /** Extra fields; secrets in them are redacted like any others. */
  [extra: string]: unknown;
}

/** Options of {@link AILogger}. */
export interface AILoggerOptions {
  /** As for {@link RequestLogger}: set it when one place makes every record. */
  oneCallsite?: boolean;
  /** `replica_id` of the records; default {@link PROCESS_REPLICA_ID}. */
  replicaId?: string;
}

/**
 * The seed's `AILogger`: one usage record per AI request with `operation`, `model`, `tokens_used`,
 * `cost_estimate`, `duration_ms` and `user_id`, plus the audit trail's `record_type: ai_usage`,
 * `request_id`, `replica_id` and `seq`: a number per replica id that grows by one with every
 * record any AILogger of the process writes for it (a gap in a replica's sequence is a lost
 * record). Usage records are never sampled away, and never carry prompt or completion text.
 */
export class AILogger {
  private readonly callsite: CallsiteCache;
  private readonly replicaId: string;

  constructor(
    private readonly logger: Logger,
    { oneCallsite = false, replicaId = PROCESS_REPLICA_ID }: AILoggerOptions = {},
  ) {
    this.callsite = new CallsiteCache(oneCallsite);
    this.replicaId = replicaId;
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
      requestId = currentRequestId(),
      ...extra
    } = fields;
    const seq = (sequences.get(this.replicaId) ?? 0) + 1;
    sequences.set(this.replicaId, seq);
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
      request_id: requestId,
      replica_id: this.replicaId,
      seq,
    });
    // The current request's record: its routine request log would only repeat it.
    if (fields.requestId === undefined) markRequestRecorded();
  }
}
