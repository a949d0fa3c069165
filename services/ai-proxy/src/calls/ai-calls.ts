import type { InflightCall } from '@flashcase/store';
import type { HttpError, Instruments } from '@flashcase/telemetry';
import { OpenStreams } from '../concurrency/open-streams';
import { concurrencyLimitReached, Slots } from '../concurrency/slots';
import type { Admission, AiLimits } from '../limits/ai-limits';
import type { UpstreamRequest } from '../operations/upstream-request';
import { type CompletionResult, genAiProviderName, type Provider, type StreamChunk } from '../providers/provider';
import type { UpstreamError } from '../providers/upstream-error';
import type { CallCost, UsageAccounting } from '../usage/accounting';
import { plainUsage, type TokenUsage } from '../usage/token-usage';
import { estimatePromptTokens, estimateTextTokens } from '../usage/tokenizer';
import { type CallSpanTarget, endCallSpan, startCallSpan } from './genai-span';
import { inflightRecord, worstCase } from './reservation';
import { asUpstreamError, errorType, failureOutcome, toHttpError } from './upstream-failure';

// Also on this module's surface, beside the calls whose failures it translates.
export { toHttpError } from './upstream-failure';

/** A non-streaming call's answer, with what it was counted as and its rate-limit headers. */
export interface CallResult {
  result: CompletionResult;
  usage: TokenUsage;
  estimated: boolean;
  cost: CallCost;
  headers: Record<string, string>;
}

/** How a stream ended, once its usage was recorded. */
export interface StreamSummary {
  usage: TokenUsage;
  estimated: boolean;
  cost: CallCost;
  finishReason: string;
  /** Set when the stream failed after it started; the route reports it in-band. */
  error?: HttpError | undefined;
}

/** Where a stream's chunks go (the route's response). */
export interface StreamSink {
  /** Called once, right before the first chunk, with the rate-limit headers (headers not sent yet). */
  start(headers: Record<string, string>): void;
  /**
   * Relays one chunk; a promise when the client cannot take more yet: the upstream is not read
   * until it settles (backpressure from the client through to the upstream's socket).
   */
  chunk(chunk: StreamChunk): Promise<void> | undefined;
}

/** What {@link AiCalls} needs. */
export interface AiCallsDeps {
  provider: Provider;
  limits: AiLimits;
  accounting: UsageAccounting;
  instruments: Instruments;
  /** TOKEN_USAGE_TRACKING_ENABLED: without counters there is no in-flight record to write either. */
  trackingEnabled: boolean;
  /** AI_MAX_CONCURRENT_STREAMS: open streams on this replica; 0 or absent = unbounded. */
  maxConcurrentStreams?: number | undefined;
  /** The open streams, which shutdown ends in-band when its drain runs out; default: a set of its own. */
  openStreams?: OpenStreams | undefined;
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
  private readonly spanTarget: CallSpanTarget;
  /** The open streams of this replica (AI_MAX_CONCURRENT_STREAMS). */
  private readonly streams: Slots;
  private readonly openStreams: OpenStreams;

  constructor(private readonly deps: AiCallsDeps) {
    this.providerName = genAiProviderName(deps.provider);
    this.spanTarget = { providerName: this.providerName, server: deps.provider.server };
    this.streams = new Slots(deps.maxConcurrentStreams ?? 0);
    this.openStreams = deps.openStreams ?? new OpenStreams();
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

  /** The call's in-flight record; none without token tracking (no counters to settle it in). */
  private inflight(userId: string, req: UpstreamRequest): InflightCall | undefined {
    return this.deps.trackingEnabled ? inflightRecord(userId, req, this.deps.accounting) : undefined;
  }

  /** A non-streaming call: a connection, then admission, the upstream call and its usage record. */
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
   * `flashcase.ai.streams.active` gauge counts it from admission to its usage record. `cancel` is
   * aborted when the client goes; shutdown aborts it too (with the `shutdown` error) when its drain
   * runs out.
   */
  async stream(
    userId: string,
    req: UpstreamRequest,
    cancel: AbortController,
    sink: StreamSink,
  ): Promise<StreamSummary> {
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
      this.openStreams.track(cancel);
      return await this.streamOnConnection(userId, req, cancel.signal, sink);
    } finally {
      this.openStreams.untrack(cancel);
      connection?.release();
      this.streams.release();
    }
  }

  private async completeOnConnection(userId: string, req: UpstreamRequest, signal: AbortSignal): Promise<CallResult> {
    const call = this.inflight(userId, req);
    const admission = await this.deps.limits.admit(userId, call, worstCase(req, this.deps.accounting));
    const span = startCallSpan(req, userId, this.spanTarget);
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
      endCallSpan(span, {
        usage,
        estimated,
        model: result.model,
        cost,
        finishReasons: result.finishReasons,
        responseId: result.id,
      });
      return { result, usage, estimated, cost, headers: admission.headers };
    } catch (err) {
      const upstream = asUpstreamError(err, 'Upstream call failed');
      const httpError = toHttpError(upstream);
      const none = plainUsage(0, 0);
      const cost = this.deps.accounting.record({
        userId,
        operation: req.operation,
        model: req.model,
        usage: none,
        estimated: false,
        outcome: failureOutcome(upstream, httpError),
        durationS: (performance.now() - started) / 1000,
        errorType: errorType(upstream),
        callId: call?.callId,
      });
      await admission.settle(0, cost.ticks);
      endCallSpan(span, { usage: none, estimated: false, model: req.model, cost, err: upstream });
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
    const admission = await this.deps.limits.admit(userId, call, worstCase(req, this.deps.accounting));
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
    const span = startCallSpan(req, userId, this.spanTarget);
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
      await this.deps.provider.stream(req, signal, (chunk) => {
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
        if (chunk.model !== undefined) model = chunk.model;
        if (responseId === undefined) responseId = chunk.id;
        if (chunk.generated.length > 0) text += chunk.generated;
        if (chunk.finishes) for (const { index, reason } of chunk.finishes) finishReasons[index] = reason;
        if (chunk.usage) usage = chunk.usage;
        else if (chunk.usageInvalid) usageInvalid = chunk.usageInvalid;
        return sink.chunk(chunk);
      });
    } catch (err) {
      failure = asUpstreamError(err, 'Upstream stream failed');
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
      outcome: failure && httpError ? failureOutcome(failure, httpError) : 'success',
      durationS: (performance.now() - started) / 1000,
      errorType: failure ? errorType(failure) : undefined,
      callId: call?.callId,
    });
    await admission.settle(counted.promptTokens + counted.completionTokens, cost.ticks);
    const finishes = Array.from(finishReasons, (reason) => reason ?? 'stop');
    endCallSpan(span, { usage: counted, estimated, model, cost, finishReasons: finishes, responseId, err: failure });
    if (httpError && !begun) throw httpError;
    return { usage: counted, estimated, cost, finishReason: finishes[0] ?? 'stop', error: httpError };
  }
}
