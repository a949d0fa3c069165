/** FlashCase's AI operations; `chat/completions` counts as `chat`. */
export type Operation = 'chat' | 'rewrite' | 'autocomplete';

export const OPERATIONS: readonly Operation[] = ['chat', 'rewrite', 'autocomplete'];

/** A content part of a message: `text`, `image_url`, or another part the provider takes. */
export interface ContentPart {
  type: string;
  text?: string | undefined;
  [key: string]: unknown;
}

/** A tool call of an assistant message (`tool_calls[]`). */
export interface ToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
  [key: string]: unknown;
}

/**
 * A chat message as the Chat Completions API takes it: validated and size-bounded, then sent
 * upstream as the client wrote it (fields beyond these included).
 */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  /** A string, content parts, or null (an assistant message that only calls tools). */
  content?: string | ContentPart[] | null | undefined;
  name?: string | undefined;
  tool_calls?: ToolCall[] | undefined;
  tool_call_id?: string | undefined;
  [key: string]: unknown;
}

/** What we send upstream, after validation, prompt building and clamping. */
export interface UpstreamRequest {
  operation: Operation;
  model: string;
  messages: ChatMessage[];
  temperature: number;
  maxTokens: number;
  /** The name the cap is sent under: the one the client used (`max_tokens` for our operations). */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens' | undefined;
  /** Choices asked for (`n`, at most `AI_MAX_N`): the reservation is `maxTokens` for each. */
  choices: number;
  stream: boolean;
  /**
   * Every other field of a `chat/completions` body (tools, tool_choice, response_format, stop, seed,
   * logprobs, user, xAI's search_parameters, ...), passed through unchanged.
   */
  extra?: Record<string, unknown>;
}
