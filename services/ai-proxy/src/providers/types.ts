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
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  [key: string]: unknown;
}

export interface CompletionResult {
  id: string;
  model: string;
  content: string;
  finishReason: string;
  /** Absent when the upstream sent none (then it is estimated). */
  usage?: TokenUsage | undefined;
  created: number;
}

export interface StreamChunk {
  raw: OpenAIChunk;
  delta: string;
  finishReason?: string | undefined;
  usage?: TokenUsage | undefined;
}

/** Where an AI request goes: the real OpenAI-compatible API (`xai`) or the built-in simulator. */
export interface Provider {
  readonly name: 'xai' | 'simulated';
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

/** `usage` from an OpenAI body, or undefined when absent or not numbers. */
export function readUsage(usage: OpenAIChunk['usage']): TokenUsage | undefined {
  if (!usage || typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number')
    return undefined;
  if (usage.prompt_tokens < 0 || usage.completion_tokens < 0) return undefined;
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
}
