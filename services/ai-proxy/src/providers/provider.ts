import type { Slots } from '../concurrency/slots';
import type { UpstreamRequest } from '../operations/upstream-request';
import type { TokenUsage } from '../usage/token-usage';

/** A choice's delta in a stream chunk: what accounting reads of it (the rest is relayed as sent). */
export interface ChunkDelta {
  role?: string;
  content?: string | null;
  /** xAI's visible reasoning (grok-3-mini): generated and billed like content. */
  reasoning_content?: string | null;
  refusal?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }>;
  [key: string]: unknown;
}

/** An OpenAI Chat Completions stream chunk, as sent upstream (parsed for accounting, relayed as bytes). */
export interface OpenAIChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: ChunkDelta;
    finish_reason?: string | null;
    [key: string]: unknown;
  }>;
  /** The provider's usage object, as sent (read with `normalizeUsage`). */
  usage?: unknown;
  [key: string]: unknown;
}

export interface CompletionResult {
  id: string;
  model: string;
  /** The first choice's text: what our own operations answer. */
  content: string;
  /** The first choice's finish reason. */
  finishReason: string;
  /** Every choice's finish reason, in choice order (`gen_ai.response.finish_reasons`). */
  finishReasons: string[];
  /**
   * Everything the model generated, over every choice: content, reasoning, refusals and tool-call
   * arguments. What the completion tokens are estimated from when the upstream sent no usage.
   */
  generated: string;
  /** Absent when the upstream sent none (then it is estimated). */
  usage?: TokenUsage | undefined;
  /** The provider's usage object exactly as sent (relayed unchanged by `chat/completions`). */
  rawUsage?: unknown;
  /** Set when the upstream sent a usage object that could not be read at all. */
  usageInvalid?: string | undefined;
  created: number;
  /** The whole answer as the upstream sent it, parsed: `chat/completions` relays it unchanged. */
  body: Record<string, unknown>;
  /** The answer's JSON text as it arrived, when there is one: relayed byte for byte. */
  text?: string | undefined;
}

/** One stream event, as accounting reads it and as it is relayed. */
export interface StreamChunk {
  /**
   * The event's SSE bytes as the upstream sent them (its `data:` line and the blank line ending
   * it): what `chat/completions` relays, byte for byte, without serialising JSON again.
   */
  wire: Buffer;
  /** A usage-only event (usage and no choices): relayed only to clients that asked for it. */
  usageOnly: boolean;
  /** The chunk's `id` and `model`, when it has them (`gen_ai.response.id`, `gen_ai.response.model`). */
  id?: string | undefined;
  model?: string | undefined;
  /** The first choice's `delta.content`: what our own operations relay. */
  delta: string;
  /** Everything this chunk generated, over every choice (see {@link CompletionResult.generated}). */
  generated: string;
  /** The finish reasons this chunk carries, by choice index (usually none). */
  finishes?: ReadonlyArray<{ index: number; reason: string }> | undefined;
  usage?: TokenUsage | undefined;
  /** Set when this chunk carried a usage object that could not be read at all. */
  usageInvalid?: string | undefined;
}

/**
 * Takes one stream chunk: `undefined` to go on, or a promise when the client cannot take more yet
 * (the upstream is not read until it settles: backpressure from the client to the upstream's socket).
 */
export type ChunkSink = (chunk: StreamChunk) => Promise<void> | undefined;

/** Where an AI request goes: the real OpenAI-compatible API (`xai`) or the built-in simulator. */
export interface Provider {
  readonly name: 'xai' | 'simulated';
  /** The upstream's host and port (`server.address`, `server.port` on the GenAI span); none for the simulator. */
  readonly server?: { address: string; port: number } | undefined;
  /**
   * The upstream connection pool's slots (`AI_UPSTREAM_MAX_CONNECTIONS`, limit 0 = unbounded): a
   * caller takes one per call before calling, and releases it when the call has ended. None for
   * the simulator, which opens no connection.
   */
  readonly connections?: Slots | undefined;
  complete(request: UpstreamRequest, signal: AbortSignal): Promise<CompletionResult>;
  /**
   * Hands each chunk to `onChunk` as it arrives; resolves when the answer is complete, rejects with
   * an UpstreamError when the upstream fails (before or mid-way).
   */
  stream(request: UpstreamRequest, signal: AbortSignal, onChunk: ChunkSink): Promise<void>;
  close(): Promise<void>;
}

/** `gen_ai.provider.name` of a provider: the semantic conventions' `x_ai` for xAI. */
export function genAiProviderName(provider: Pick<Provider, 'name'>): string {
  return provider.name === 'xai' ? 'x_ai' : provider.name;
}
