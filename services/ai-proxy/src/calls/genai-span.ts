import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { UpstreamRequest } from '../operations/upstream-request';
import type { Provider } from '../providers/provider';
import type { CallCost } from '../usage/accounting';
import { ticksToUsd } from '../usage/pricing';
import type { TokenUsage } from '../usage/token-usage';
import { errorType } from './upstream-failure';

// NOTE: looked up per call, not at module load: a tracer taken before the SDK registers its
// provider stays a no-op when two copies of the API are loaded (the CJS/ESM dual-package hazard).
const tracer = () => trace.getTracer('@flashcase/ai-proxy');

/**
 * The request parameters the GenAI semconv records, from a `chat/completions` body's pass-through
 * fields; tool definitions as their type and name only (the semconv's required properties: no
 * descriptions or schemas, which may hold prompt content). A field of the wrong type is left out;
 * an empty `tools` array records nothing.
 */
export function requestParameterAttributes(extra: Record<string, unknown>): Attributes {
  const { seed, top_p, stop, presence_penalty, frequency_penalty, response_format, tools } = extra;
  const attributes: Attributes = {};
  if (typeof seed === 'number') attributes['gen_ai.request.seed'] = seed;
  if (typeof top_p === 'number') attributes['gen_ai.request.top_p'] = top_p;
  if (typeof presence_penalty === 'number') attributes['gen_ai.request.presence_penalty'] = presence_penalty;
  if (typeof frequency_penalty === 'number') attributes['gen_ai.request.frequency_penalty'] = frequency_penalty;
  if (typeof stop === 'string') attributes['gen_ai.request.stop_sequences'] = [stop];
  else if (Array.isArray(stop)) attributes['gen_ai.request.stop_sequences'] = stop as string[];
  const format = (response_format as { type?: unknown } | null | undefined)?.type;
  if (typeof format === 'string') attributes['gen_ai.output.type'] = format === 'text' ? 'text' : 'json';
  if (Array.isArray(tools) && tools.length > 0) {
    const definitions = (tools as Array<{ type?: string; function?: { name?: string } }>).map((t) => ({
      type: t.type,
      name: t.function?.name,
    }));
    attributes['gen_ai.tool.definitions'] = JSON.stringify(definitions);
    attributes['flashcase.ai.request.tool_count'] = tools.length;
  }
  return attributes;
}

/** Who a call goes to, as its span names it. */
export interface CallSpanTarget {
  /** `gen_ai.provider.name` (`x_ai`, `simulated`). */
  providerName: string;
  /** `server.address` and `server.port`; none for the simulator. */
  server?: Provider['server'];
}

/**
 * Starts the GenAI client span of one call, `{operation} {model}`, with the request's attributes
 * (`gen_ai.request.choice.count` only when more than one choice is asked for).
 */
export function startCallSpan(req: UpstreamRequest, userId: string, target: CallSpanTarget): Span {
  const { providerName, server } = target;
  const span = tracer().startSpan(`${req.operation} ${req.model}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': providerName,
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
  if (req.extra !== undefined) span.setAttributes(requestParameterAttributes(req.extra));
  return span;
}

/** How a call ended, as its span records it. */
export interface CallSpanEnd {
  usage: TokenUsage;
  estimated: boolean;
  /** The model that answered (`gen_ai.response.model`). */
  model: string;
  cost: CallCost;
  finishReasons?: readonly string[] | undefined;
  responseId?: string | undefined;
  /** Set when the call failed: the span gets `error.type`, the exception and an error status. */
  err?: unknown;
}

/** Records the call's usage, cost and outcome on its span, and ends it. */
export function endCallSpan(span: Span, end: CallSpanEnd): void {
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
