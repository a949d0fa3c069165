import type { ChatMessageLike } from './completion';
import { type Features, mayHaveFeatures, parseFeatures, RequestError } from './features';

/** A chat completion request body as `dialectOf` sees it: validated `model` and `messages`, the rest as sent. */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessageLike[];
  [param: string]: unknown;
}

/** The fields of a chat request body the fake reads beyond the model and the messages. */
export interface ChatBody extends ChatRequestBody {
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

/** A chat completion request, checked as OpenAI checks it. */
export interface ChatRequest {
  body: ChatBody;
  /** The smaller of `max_tokens` and `max_completion_tokens`; undefined when neither is set. */
  maxTokens: number | undefined;
  stream: boolean;
  /** Set when the request needs more than the plain text answer (see `parseFeatures`). */
  features: Features | undefined;
}

/**
 * Checks a parsed `POST /v1/chat/completions` body as OpenAI does, in its order: a JSON object, a
 * non-empty `model`, a non-empty `messages` array, `max_tokens` / `max_completion_tokens` integers
 * >= 1 when set (`null` counts as unset), no `stream_options` without `stream`, then the feature
 * parameters (`n`, `tools`, `tool_choice`, `top_logprobs`, `response_format`). Throws the first
 * refusal as a {@link RequestError} (`param` null for the body as a whole).
 */
export function parseChatRequest(body: unknown): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RequestError('The request body must be a JSON object.', null);
  }
  const request = body as ChatBody;
  if (typeof request.model !== 'string' || request.model.length === 0) {
    throw new RequestError('you must provide a model parameter', 'model');
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new RequestError("Invalid 'messages': expected a non-empty array of messages.", 'messages');
  }
  let maxTokens: number | undefined;
  for (const param of ['max_tokens', 'max_completion_tokens'] as const) {
    const value = request[param];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RequestError(
        `Invalid '${param}': expected an integer >= 1, but got ${JSON.stringify(value)} instead.`,
        param,
        'integer_below_min_value',
      );
    }
    maxTokens = maxTokens === undefined ? value : Math.min(maxTokens, value);
  }
  const stream = request.stream === true;
  if (!stream && request.stream_options != null) {
    throw new RequestError(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'stream_options',
    );
  }
  const features = mayHaveFeatures(request) ? parseFeatures(request) : undefined;
  return { body: request, maxTokens, stream, features };
}
