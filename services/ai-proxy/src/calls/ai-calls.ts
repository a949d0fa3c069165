import { randomUUID } from 'node:crypto';
import type { InflightCall } from '@flashcase/store';
import { HttpError, type Instruments } from '@flashcase/telemetry';
import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { concurrencyLimitReached, Slots } from '../concurrency/slots';
import type { Admission, AiLimits, WorstCase } from '../limits/ai-limits';
import { plainUsage, type TokenUsage, type UpstreamRequest } from '../operations/types';
import {
  type CompletionResult,
  genAiProviderName,
  type Provider,
  type StreamChunk,
  UpstreamError,
} from '../providers/types';
import type { CallCost, UsageAccounting } from '../usage/accounting';
import { ticksToUsd } from '../usage/pricing';
import { estimatePromptTokens, estimateTextTokens, roughPromptTokens } from '../usage/tokenizer';

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

/**
 * The request parameters the GenAI semconv records, from a `chat/completions` body's pass-through
 * fields; tool definitions as their type and name only (the semconv's required properties: no
 * descriptions or schemas, which may hold prompt content).
 */
function setRequestParameters(span: Span, extra: Record<string, unknown>): void {
  const { seed, top_p, stop, presence_penalty, frequency_penalty, response_format, tools } = extra;
  if (typeof seed === 'number') span.setAttribute('gen_ai.request.seed', seed);
  if (typeof top_p === 'number') span.setAttribute('gen_ai.request.top_p', top_p);
  if (typeof presence_penalty === 'number') span.setAttribute('gen_ai.request.presence_penalty', presence_penalty);
  if (typeof frequency_penalty === 'number') span.setAttribute('gen_ai.request.frequency_penalty', frequency_penalty);
  if (typeof stop === 'string') span.setAttribute('gen_ai.request.stop_sequences', [stop]);
  else if (Array.isArray(stop)) span.setAttribute('gen_ai.request.stop_sequences', stop as string[]);
  const format = (response_format as { type?: unknown } | null | undefined)?.type;
  if (typeof format === 'string') span.setAttribute('gen_ai.output.type', format === 'text' ? 'text' : 'json');
  if (Array.isArray(tools) && tools.length > 0) {
    const definitions = (tools as Array<{ type?: string; function?: { name?: string } }>).map((t) => ({
      type: t.type,
      name: t.function?.name,
    }));
    span.setAttribute('gen_ai.tool.definitions', JSON.stringify(definitions));
    span.setAttribute('flashcase.ai.request.tool_count', tools.length);
  }
}

export interface CallResult {
  result: CompletionResult;
  usage: TokenUsage;
  estimated: boolean;
  cost: CallCost;
  headers: Record<string, string>;
}

export interface StreamSummary {
  usage: TokenUsage;
  estimated: boolean;
  cost: CallCost;
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
  instruments: Instruments;
  /** TOKEN_USAGE_TRACKING_ENABLED: without counters there is no in-flight record to write either. */
  trackingEnabled: boolean;
  /** AI_MAX_CONCURRENT_STREAMS: open streams on this replica; 0 or absent = unbounded. */
  maxConcurrentStreams?: number | undefined;
}

/**
 * One AI call from admission to accounting: the concurrency limits, limits and budget (with the
 * call's in-flight record), the GenAI client span (`{operation} {model}`), the upstream call, and
 * exactly one usage record whatever happens (success, upstream failure, client gone, stream cut
 * short: then the tokens are estimated; replica killed: a surviving replica counts the in-flight
 * record).
 *
 * The concurrency limits (open streams, upstream connections) are checked first, synchronously, and
 * answered with a 503 and `Retry-After` at once: a refused call takes nothing from the rate limits
 * or budgets, writes no in-flight record and is not counted as a request.
 */
export class AiCalls {
  private readonly providerName: string;
  /** The open streams of this replica (AI_MAX_CONCURRENT_STREAMS). */
  private readonly streams: Slots;

  constructor(private readonly deps: AiCallsDeps) {
    this.providerName = genAiProviderName(deps.provider);
    this.streams = new Slots(deps.maxConcurrentStreams ?? 0);
  }

  /** Takes a connection of the provider's pool, or throws the (counted) 503 when all are busy. */
  private takeConnection(): Slots | undefined {
    const pool = this.deps.provider.connections;
    if (!pool) return undefined;
    if (pool.tryTake()) return pool;
    this.deps.instruments.aiConcurrencyRejections.add(1, { limit: 'upstream_connections' });
    throw concurrencyLimitReached(
      'upstream_connections',
      `All ${pool.limit} connections to the AI provider are busy (AI_UPSTREAM_MAX_CONNECTIONS); retry shortly`,
    );
  }

  private startSpan(req: UpstreamRequest, userId: string): Span {
    const server = this.deps.provider.server;
    const span = tracer().startSpan(`${req.operation} ${req.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': this.providerName,
        'gen_ai.request.model': req.model,
        'gen_ai.request.max_tokens': req.maxTokens,
        'gen_ai.request.temperature': req.temperature,
        'flashcase.ai.operation': req.operation,
        'flashcase.ai.stream': req.stream,
        'flashcase.user.id': userId,
        ...(server ? { 'server.address': server.address, 'server.port': server.port } : {}),
      },
    });
    if (req.choices !== 1) span.setAttribute('gen_ai.request.choice.count', req.choices);
    if (req.extra !== undefined) setRequestParameters(span, req.extra);
    return span;
  }

  private endSpan(
    span: Span,
    end: {
      usage: TokenUsage;
      estimated: boolean;
      model: string;
      cost: CallCost;
      finishReasons?: readonly string[] | undefined;
      responseId?: string | undefined;
      err?: unknown;
    },
  ) {
    const { usage, estimated, model, cost, finishReasons, responseId, err } = end;
    span.setAttributes({
      'gen_ai.response.model': model,
      'gen_ai.usage.input_tokens': usage.promptTokens,
      'gen_ai.usage.output_tokens': usage.completionTokens,
      'gen_ai.usage.cache_read.input_tokens': usage.cachedPromptTokens,
      'gen_ai.usage.reasoning.output_tokens': usage.reasoningTokens,
      'flashcase.ai.tokens_estimated': estimated,
      'flashcase.ai.cost_usd': ticksToUsd(cost.ticks),
      'flashcase.ai.cost_source': cost.source,
    });
    if (usage.invalid) span.setAttribute('flashcase.ai.usage_invalid', usage.invalid);
    if (responseId) span.setAttribute('gen_ai.response.id', responseId);
    if (finishReasons && finishReasons.length > 0) span.setAttribute('gen_ai.response.finish_reasons', finishReasons);
    if (err) {
      span.setAttribute('error.type', errorType(err));
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorType(err) });
    }
    span.end();
  }

  /**
   * The in-flight record of a call: what a surviving replica counts if this one dies before the
   * usage is written. Worst case, as a budget reservation is: the prompt (about 4 characters a
   * token, without the tokenizer's cost) and the whole `max_tokens`, at the table's price.
   */
  private inflight(userId: string, req: UpstreamRequest): InflightCall | undefined {
    if (!this.deps.trackingEnabled) return undefined;
    const estimate = plainUsage(roughPromptTokens(req), req.maxTokens * req.choices);
    return {
      callId: randomUUID(),
      userId,
      model: req.model,
      operation: req.operation,
      estimate: {
        promptTokens: estimate.promptTokens,
        completionTokens: estimate.completionTokens,
        costTicks: this.deps.accounting.price(req.model, estimate) ?? 0,
      },
      periods: this.deps.accounting.periodsNow(),
    };
  }

  /**
   * What the budgets reserve: the prompt estimate (the tokenizer's, once) plus `max_tokens` for
   * every choice, and that at the table's price (long-context rates when the prompt is long).
   */
  private worstCase(req: UpstreamRequest): WorstCase {
    let prompt: number | undefined;
    const promptTokens = () => {
      prompt ??= estimatePromptTokens(req);
      return prompt;
    };
    const completion = req.maxTokens * req.choices;
    return {
      tokens: () => promptTokens() + completion,
      ticks: () => this.deps.accounting.price(req.model, plainUsage(promptTokens(), completion)) ?? 0,
    };
  }

  async complete(userId: string, req: UpstreamRequest, signal: AbortSignal): Promise<CallResult> {
    const connection = this.takeConnection();
    try {
      return await this.completeOnConnection(userId, req, signal);
    } finally {
      connection?.release();
    }
  }

  /**
   * A stream: the open-streams limit, then a connection, both before admission; the
   * `flashcase.ai.streams.active` gauge counts it from admission to its usage record.
   */
  async stream(userId: string, req: UpstreamRequest, signal: AbortSignal, sink: StreamSink): Promise<StreamSummary> {
    if (!this.streams.tryTake()) {
      this.deps.instruments.aiConcurrencyRejections.add(1, { limit: 'streams' });
      throw concurrencyLimitReached(
        'streams',
        `This replica has ${this.streams.limit} streams open, its limit (AI_MAX_CONCURRENT_STREAMS); retry shortly`,
      );
    }
    let connection: Slots | undefined;
    try {
      connection = this.takeConnection();
      return await this.streamOnConnection(userId, req, signal, sink);
    } finally {
      connection?.release();
      this.streams.release();
    }
  }

  private async completeOnConnection(userId: string, req: UpstreamRequest, signal: AbortSignal): Promise<CallResult> {
    const call = this.inflight(userId, req);
    const admission = await this.deps.limits.admit(userId, call, this.worstCase(req));
    const span = this.startSpan(req, userId);
    const started = performance.now();
    try {
      const result = await this.deps.provider.complete(req, signal);
      const estimated = result.usage === undefined;
      const usage = result.usage ?? {
        ...plainUsage(estimatePromptTokens(req), estimateTextTokens(result.generated)),
        invalid: result.usageInvalid,
      };
      const cost = this.deps.accounting.record({
        userId,
        operation: req.operation,
        model: req.model,
        usage,
        estimated,
        outcome: 'success',
        durationS: (performance.now() - started) / 1000,
        callId: call?.callId,
      });
      await admission.settle(usage.promptTokens + usage.completionTokens, cost.ticks);
      this.endSpan(span, {
        usage,
        estimated,
        model: result.model,
        cost,
        finishReasons: result.finishReasons,
        responseId: result.id,
      });
      return { result, usage, estimated, cost, headers: admission.headers };
    } catch (err) {
      const upstream =
        err instanceof UpstreamError
          ? err
          : new UpstreamError('connection', 'Upstream call failed', undefined, undefined, { cause: err });
      const httpError = toHttpError(upstream);
      const none = plainUsage(0, 0);
      const cost = this.deps.accounting.record({
        userId,
        operation: req.operation,
        model: req.model,
        usage: none,
        estimated: false,
        outcome: upstream.kind === 'aborted' ? 'client_closed' : httpError.code,
        durationS: (performance.now() - started) / 1000,
        errorType: errorType(upstream),
        callId: call?.callId,
      });
      await admission.settle(0, cost.ticks);
      this.endSpan(span, { usage: none, estimated: false, model: req.model, cost, err: upstream });
      throw httpError;
    }
  }

  private async streamOnConnection(
    userId: string,
    req: UpstreamRequest,
    signal: AbortSignal,
    sink: StreamSink,
  ): Promise<StreamSummary> {
    const call = this.inflight(userId, req);
    const admission = await this.deps.limits.admit(userId, call, this.worstCase(req));
    this.deps.instruments.aiStreamsActive.add(1);
    try {
      return await this.relay(userId, req, signal, sink, call, admission);
    } finally {
      this.deps.instruments.aiStreamsActive.add(-1);
    }
  }

  private async relay(
    userId: string,
    req: UpstreamRequest,
    signal: AbortSignal,
    sink: StreamSink,
    call: InflightCall | undefined,
    admission: Admission,
  ): Promise<StreamSummary> {
    const span = this.startSpan(req, userId);
    const started = performance.now();
    let text = '';
    let usage: TokenUsage | undefined;
    let usageInvalid: string | undefined;
    const finishReasons: string[] = [];
    let responseId: string | undefined;
    let model = req.model;
    let begun = false;
    let failure: UpstreamError | undefined;
    try {
      for await (const chunk of this.deps.provider.stream(req, signal)) {
        if (!begun) {
          begun = true;
          this.deps.instruments.genAiTimeToFirstChunk.record((performance.now() - started) / 1000, {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': req.model,
            'gen_ai.provider.name': this.providerName,
            'flashcase.ai.operation': req.operation,
          });
          sink.start(admission.headers);
        }
        if (typeof chunk.raw.model === 'string') model = chunk.raw.model;
        if (responseId === undefined && typeof chunk.raw.id === 'string') responseId = chunk.raw.id;
        text += chunk.generated;
        if (chunk.finishes) for (const { index, reason } of chunk.finishes) finishReasons[index] = reason;
        if (chunk.usage) usage = chunk.usage;
        else if (chunk.usageInvalid) usageInvalid = chunk.usageInvalid;
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
      ...plainUsage(text.length > 0 || !failure ? estimatePromptTokens(req) : 0, estimateTextTokens(text)),
      invalid: usageInvalid,
    };
    const httpError = failure ? toHttpError(failure) : undefined;
    const cost = this.deps.accounting.record({
      userId,
      operation: req.operation,
      model: req.model,
      usage: counted,
      estimated,
      outcome: httpError ? (failure?.kind === 'aborted' ? 'client_closed' : httpError.code) : 'success',
      durationS: (performance.now() - started) / 1000,
      errorType: failure ? errorType(failure) : undefined,
      callId: call?.callId,
    });
    await admission.settle(counted.promptTokens + counted.completionTokens, cost.ticks);
    const finishes = Array.from(finishReasons, (reason) => reason ?? 'stop');
    this.endSpan(span, { usage: counted, estimated, model, cost, finishReasons: finishes, responseId, err: failure });
    if (httpError && !begun) throw httpError;
    return { usage: counted, estimated, cost, finishReason: finishes[0] ?? 'stop', error: httpError };
  }
}
