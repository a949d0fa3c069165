import { HttpError } from '@flashcase/telemetry';
import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { AiLimits } from '../limits/ai-limits';
import type { TokenUsage, UpstreamRequest } from '../operations/types';
import { type CompletionResult, type Provider, type StreamChunk, UpstreamError } from '../providers/types';
import type { UsageAccounting } from '../usage/accounting';
import { estimatePromptTokens, estimateTextTokens } from '../usage/tokenizer';

// NOTE: looked up per call, not at module load: a tracer taken before the SDK registers its
// provider stays a no-op when two copies of the API are loaded (the CJS/ESM dual-package hazard).
const tracer = () => trace.getTracer('@flashcase/ai-proxy');

/** The upstream failure as the contract's error (status, code) and the metric's `error.type`. */
export function toHttpError(err: UpstreamError): HttpError {
  switch (err.kind) {
    case 'timeout':
      return new HttpError(504, 'upstream_timeout', 'The AI provider did not answer in time', { cause: err });
    case 'rate_limited':
      return new HttpError(503, 'upstream_rate_limited', 'The AI provider is rate limiting us; retry later', {
        cause: err,
        headers: { 'Retry-After': String(err.retryAfterS ?? 30) },
        details: { retry_after_s: err.retryAfterS ?? 30 },
      });
    case 'rejected':
      return new HttpError(400, 'invalid_request', err.message, { cause: err });
    case 'aborted':
      // Nobody reads this answer; 499 (nginx's "client closed request") keeps it out of the 5xx rate.
      return new HttpError(499, 'invalid_request', 'Client closed the request', { cause: err });
    default:
      return new HttpError(502, 'upstream_error', 'The AI provider failed to answer', { cause: err });
  }
}

function errorType(err: unknown): string {
  if (err instanceof UpstreamError) return err.kind === 'status' && err.status ? String(err.status) : err.kind;
  return (err as Error)?.name ?? 'Error';
}

export interface CallResult {
  result: CompletionResult;
  usage: TokenUsage;
  estimated: boolean;
  costMicros: number;
  headers: Record<string, string>;
}

export interface StreamSummary {
  usage: TokenUsage;
  estimated: boolean;
  costMicros: number;
  finishReason: string;
  /** Set when the stream failed after it started; the route reports it in-band. */
  error?: HttpError | undefined;
}

export interface StreamSink {
  /** Called once, right before the first chunk, with the rate-limit headers (headers not sent yet). */
  start(headers: Record<string, string>): void;
  chunk(chunk: StreamChunk): void;
}

export interface AiCallsDeps {
  provider: Provider;
  limits: AiLimits;
  accounting: UsageAccounting;
}

/**
 * One AI call from admission to accounting: limits and budget, the GenAI client span
 * (`{operation} {model}`), the upstream call, and exactly one usage record whatever happens
 * (success, upstream failure, client gone, stream cut short: then the tokens are estimated).
 */
export class AiCalls {
  constructor(private readonly deps: AiCallsDeps) {}

  private startSpan(req: UpstreamRequest, userId: string): Span {
    return tracer().startSpan(`${req.operation} ${req.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': this.deps.provider.name,
        'gen_ai.request.model': req.model,
        'gen_ai.request.max_tokens': req.maxTokens,
        'gen_ai.request.temperature': req.temperature,
        'flashcase.ai.operation': req.operation,
        'flashcase.ai.stream': req.stream,
        'flashcase.user.id': userId,
      },
    });
  }

  private endSpan(
    span: Span,
    usage: TokenUsage,
    estimated: boolean,
    model: string,
    finish: string | undefined,
    err?: unknown,
  ) {
    span.setAttributes({
      'gen_ai.response.model': model,
      'gen_ai.usage.input_tokens': usage.promptTokens,
      'gen_ai.usage.output_tokens': usage.completionTokens,
      'flashcase.ai.tokens_estimated': estimated,
    });
    if (finish) span.setAttribute('gen_ai.response.finish_reasons', [finish]);
    if (err) {
      span.setAttribute('error.type', errorType(err));
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorType(err) });
    }
    span.end();
  }

  async complete(userId: string, req: UpstreamRequest, signal: AbortSignal): Promise<CallResult> {
    const admission = await this.deps.limits.admit(userId, () => estimatePromptTokens(req.messages) + req.maxTokens);
    const span = this.startSpan(req, userId);
    const started = performance.now();
    try {
      const result = await this.deps.provider.complete(req, signal);
      const estimated = result.usage === undefined;
      const usage = result.usage ?? {
        promptTokens: estimatePromptTokens(req.messages),
        completionTokens: estimateTextTokens(result.content),
      };
      const costMicros = this.deps.accounting.record({
        userId,
        operation: req.operation,
        model: req.model,
        usage,
        estimated,
        outcome: 'success',
        durationS: (performance.now() - started) / 1000,
      });
      await admission.settle(usage.promptTokens + usage.completionTokens);
      this.endSpan(span, usage, estimated, result.model, result.finishReason);
      return { result, usage, estimated, costMicros, headers: admission.headers };
    } catch (err) {
      const upstream =
        err instanceof UpstreamError
          ? err
          : new UpstreamError('connection', 'Upstream call failed', undefined, undefined, { cause: err });
      const httpError = toHttpError(upstream);
      const none = { promptTokens: 0, completionTokens: 0 };
      this.deps.accounting.record({
        userId,
        operation: req.operation,
        model: req.model,
        usage: none,
        estimated: false,
        outcome: upstream.kind === 'aborted' ? 'client_closed' : httpError.code,
        durationS: (performance.now() - started) / 1000,
        errorType: errorType(upstream),
      });
      await admission.settle(0);
      this.endSpan(span, none, false, req.model, undefined, upstream);
      throw httpError;
    }
  }

  async stream(userId: string, req: UpstreamRequest, signal: AbortSignal, sink: StreamSink): Promise<StreamSummary> {
    const admission = await this.deps.limits.admit(userId, () => estimatePromptTokens(req.messages) + req.maxTokens);
    const span = this.startSpan(req, userId);
    const started = performance.now();
    let text = '';
    let usage: TokenUsage | undefined;
    let finishReason: string | undefined;
    let model = req.model;
    let begun = false;
    let failure: UpstreamError | undefined;
    try {
      for await (const chunk of this.deps.provider.stream(req, signal)) {
        if (!begun) {
          begun = true;
          sink.start(admission.headers);
        }
        if (typeof chunk.raw.model === 'string') model = chunk.raw.model;
        text += chunk.delta;
        if (chunk.finishReason) finishReason = chunk.finishReason;
        if (chunk.usage) usage = chunk.usage;
        sink.chunk(chunk);
      }
    } catch (err) {
      failure =
        err instanceof UpstreamError
          ? err
          : new UpstreamError('connection', 'Upstream stream failed', undefined, undefined, { cause: err });
    }
    // Exact usage from the final chunk; otherwise (cut short, or an upstream that never sends it)
    // estimated from the prompt and the text that did arrive: those tokens were generated and billed.
    const estimated = usage === undefined;
    const counted: TokenUsage = usage ?? {
      promptTokens: text.length > 0 || !failure ? estimatePromptTokens(req.messages) : 0,
      completionTokens: estimateTextTokens(text),
    };
    const httpError = failure ? toHttpError(failure) : undefined;
    const costMicros = this.deps.accounting.record({
      userId,
      operation: req.operation,
      model: req.model,
      usage: counted,
      estimated,
      outcome: httpError ? (failure?.kind === 'aborted' ? 'client_closed' : httpError.code) : 'success',
      durationS: (performance.now() - started) / 1000,
      errorType: failure ? errorType(failure) : undefined,
    });
    await admission.settle(counted.promptTokens + counted.completionTokens);
    this.endSpan(span, counted, estimated, model, finishReason, failure);
    if (httpError && !begun) throw httpError;
    return { usage: counted, estimated, costMicros, finishReason: finishReason ?? 'stop', error: httpError };
  }
}
