import type { FakeCompletion } from './completion';

/** OpenAI's error envelope, as every non-2xx answer of the fake carries it. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The `system_fingerprint` every answer carries. */
export const SYSTEM_FINGERPRINT = 'fp_fakeopenai';

/** Serialises OpenAI's error envelope. */
export function errorJson(message: string, type: string, param: string | null = null, code: string | null = null) {
  const body: OpenAIErrorBody = { error: { message, type, param, code } };
  return JSON.stringify(body);
}

/** The body OpenAI sends for `status` when a `status` behaviour gives none of its own. */
export function statusErrorJson(status: number): string {
  switch (status) {
    case 400:
      return errorJson('Invalid request.', 'invalid_request_error');
    case 401:
      return errorJson('Incorrect API key provided.', 'invalid_request_error', null, 'invalid_api_key');
    case 403:
      return errorJson('You are not allowed to sample from this model.', 'invalid_request_error');
    case 404:
      return errorJson('The model does not exist or you do not have access to it.', 'invalid_request_error');
    case 429:
      return errorJson(
        'Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in 1s.',
        'requests',
        'requests',
        'rate_limit_exceeded',
      );
    case 503:
      return errorJson('The engine is currently overloaded, please try again later.', 'server_error');
    default:
      if (status >= 500) {
        return errorJson('The server had an error while processing your request. Sorry about that!', 'server_error');
      }
      return errorJson(`Request failed with status ${status}.`, 'invalid_request_error');
  }
}

/** Identity of one answer, shared by all its chunks. */
export interface AnswerMeta {
  id: string;
  created: number;
  model: string;
}

/**
 * A non-streaming `chat.completion` body carrying `usage` (any JSON value, sent as given); `undefined`
 * drops the field.
 */
export function completionJson(meta: AnswerMeta, completion: FakeCompletion, usage: unknown): string {
  return JSON.stringify({
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: completion.content, refusal: null },
        logprobs: null,
        finish_reason: completion.finishReason,
      },
    ],
    ...(usage === undefined ? {} : { usage }),
  });
}

/**
 * Builds the SSE events of one streamed answer, each `data: <json>\n\n`. With `includeUsage`, every
 * chunk carries `"usage": null` and the usage chunk has `"choices": []`, as OpenAI streams them.
 */
export class ChunkWriter {
  readonly #head: string;
  readonly #tail: string;

  constructor(meta: AnswerMeta, includeUsage: boolean) {
    this.#head =
      `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},` +
      `"model":${JSON.stringify(meta.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
    this.#tail = includeUsage ? ',"usage":null}\n\n' : '}\n\n';
  }

  /** The first chunk: the assistant role with empty content. */
  role(): string {
    return this.#choice('{"role":"assistant","content":"","refusal":null}', 'null');
  }

  /** One content chunk. */
  content(piece: string): string {
    return this.#choice(`{"content":${JSON.stringify(piece)}}`, 'null');
  }

  /** The chunk with an empty delta and the finish reason. */
  finish(reason: FakeCompletion['finishReason']): string {
    return this.#choice('{}', `"${reason}"`);
  }

  /** The usage chunk sent only for `stream_options.include_usage`; `usage` is any JSON value, sent as given. */
  usage(usage: unknown): string {
    return `${this.#head}[],"usage":${JSON.stringify(usage) ?? 'null'}}\n\n`;
  }

  /** A chunk whose JSON is cut off, for the `malformed-json` behaviour. */
  malformed(): string {
    return `${this.#head}[{"index":0,"delta":{"content":"trunc\n\n`;
  }

  #choice(delta: string, finishReason: string): string {
    return `${this.#head}[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finishReason}}]${this.#tail}`;
  }
}

/** The event that ends every stream. */
export const DONE_EVENT = 'data: [DONE]\n\n';
