import type { TokenUsage, UpstreamRequest } from '../operations/types';

/** An OpenAI Chat Completions stream chunk, as sent upstream (kept whole for pass-through). */
export interface OpenAIChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    delta?: { role?: string; content?: string | null };
    finish_reason?: string | null;
  }>;
  /** The provider's usage object, as sent (read with `normalizeUsage`). */
  usage?: unknown;
  [key: string]: unknown;
}

export interface CompletionResult {
  id: string;
  model: string;
  content: string;
  finishReason: string;
  /** Absent when the upstream sent none (then it is estimated). */
  usage?: TokenUsage | undefined;
  /** The provider's usage object exactly as sent (relayed unchanged by `chat/completions`). */
  rawUsage?: unknown;
  /** Set when the upstream sent a usage object that could not be read at all. */
  usageInvalid?: string | undefined;
  created: number;
}

export interface StreamChunk {
  raw: OpenAIChunk;
  delta: string;
  finishReason?: string | undefined;
  usage?: TokenUsage | undefined;
  /** Set when this chunk carried a usage object that could not be read at all. */
  usageInvalid?: string | undefined;
}

/** Where an AI request goes: the real OpenAI-compatible API (`xai`) or the built-in simulator. */
export interface Provider {
  readonly name: 'xai' | 'simulated';
  /** The upstream's host and port (`server.address`, `server.port` on the GenAI span); none for the simulator. */
  readonly server?: { address: string; port: number } | undefined;
  complete(request: UpstreamRequest, signal: AbortSignal): Promise<CompletionResult>;
  /** Yields chunks as they arrive; throws UpstreamError when the upstream fails mid-way. */
  stream(request: UpstreamRequest, signal: AbortSignal): AsyncIterable<StreamChunk>;
  close(): Promise<void>;
}

export type UpstreamErrorKind =
  | 'timeout'
  | 'rate_limited'
  | 'status'
  | 'rejected'
  | 'malformed'
  | 'connection'
  | 'aborted';

/** An upstream failure, classified for the contract's error codes and `error.type`. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `gen_ai.provider.name` of a provider: the semantic conventions' `x_ai` for xAI. */
export function genAiProviderName(provider: Pick<Provider, 'name'>): string {
  return provider.name === 'xai' ? 'x_ai' : provider.name;
}
