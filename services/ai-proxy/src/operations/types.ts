/** FlashCase's AI operations; `chat/completions` counts as `chat`. */
export type Operation = 'chat' | 'rewrite' | 'autocomplete';

export const OPERATIONS: readonly Operation[] = ['chat', 'rewrite', 'autocomplete'];

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What we send upstream, after validation, prompt building and clamping. */
export interface UpstreamRequest {
  operation: Operation;
  model: string;
  messages: ChatMessage[];
  temperature: number;
  maxTokens: number;
  stream: boolean;
  /** Extra OpenAI parameters passed through from `chat/completions` (top_p, stop, ...). */
  extra?: Record<string, unknown>;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}
