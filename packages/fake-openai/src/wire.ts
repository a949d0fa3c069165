import { argumentFragments, type FakeAnswer, type FakeChoice, fakeLogprob } from './choices';
import type { FakeCompletion } from './completion';
import type { Features } from './features';
import type { UsageDialect } from './usage';

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

  /** A chunk of choice `index` with the given delta and logprobs JSON and no finish reason. */
  delta(index: number, delta: string, logprobs = 'null'): string {
    return `${this.#head}[{"index":${index},"delta":${delta},"logprobs":${logprobs},"finish_reason":null}]${this.#tail}`;
  }

  /** The finishing chunk of choice `index`: an empty delta and the finish reason. */
  finishChoice(index: number, reason: FakeChoice['finishReason']): string {
    return `${this.#head}[{"index":${index},"delta":{},"logprobs":null,"finish_reason":"${reason}"}]${this.#tail}`;
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

/** How one answer with features is laid out on the wire. */
export interface AnswerLayout {
  /** Add `logprobs.content` per content piece, with this many `top_logprobs`; undefined for `logprobs: null`. */
  topLogprobs: number | undefined;
  /** How a stream sends tool calls: whole (`xai`) or in argument fragments (`openai`). */
  dialect: UsageDialect;
}

/** The layout of an answer to a request with `features` in `dialect`. */
export function layoutOf(features: Features, dialect: UsageDialect): AnswerLayout {
  return { topLogprobs: features.logprobs ? features.topLogprobs : undefined, dialect };
}

/**
 * A non-streaming `chat.completion` body of every choice of `answer`. Each message is
 * `{ role, content, reasoning_content?, tool_calls?, refusal: null }`; `logprobs` is
 * `{ content: [...], refusal: null }` with `logprobs: true` (`content: null` for a tool call), else null.
 */
export function answerJson(meta: AnswerMeta, answer: FakeAnswer, layout: AnswerLayout, usage: unknown): string {
  return JSON.stringify({
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: answer.choices.map((choice) => ({
      index: choice.index,
      message: {
        role: 'assistant',
        content: choice.content,
        ...(choice.reasoning === undefined ? {} : { reasoning_content: choice.reasoning.join('') }),
        ...(choice.toolCalls.length === 0
          ? {}
          : {
              tool_calls: choice.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }),
        refusal: null,
      },
      logprobs:
        layout.topLogprobs === undefined
          ? null
          : {
              content:
                choice.content === null
                  ? null
                  : choice.pieces.map((piece, p) => fakeLogprob(piece, choice.index, p, layout.topLogprobs as number)),
              refusal: null,
            },
      finish_reason: choice.finishReason,
    })),
    ...(usage === undefined ? {} : { usage }),
  });
}

/** The chunks of a streamed answer: `head` (every choice's first chunk), then `body`, then `finish`. */
export interface StreamedAnswer {
  head: string;
  body: string[];
  /** Every choice's finishing chunk, in index order. */
  finish: string;
}

/**
 * The chunks of `answer` streamed with `chunks`. Per choice, in order: a text choice's role chunk
 * (`{"role":"assistant","content":"","refusal":null}`), its `reasoning_content` deltas, then one
 * `content` delta per piece (with `logprobs.content` of that piece when asked). A tool-call choice's
 * first delta carries `"role":"assistant","content":null`; after its reasoning deltas, the `xai`
 * dialect sends each call whole in one delta (`{"tool_calls":[{index, id, type, function: { name,
 * arguments }}]}`, as xAI documents it), the `openai` dialect sends per call a delta with
 * `arguments: ''` and then one delta per 4-character fragment (`{"tool_calls":[{index, function:
 * { arguments }}]}`). The choices' chunks are interleaved: step s of every choice, by index, then step
 * s + 1; every choice then gets its own finishing chunk.
 */
export function streamedAnswer(chunks: ChunkWriter, answer: FakeAnswer, layout: AnswerLayout): StreamedAnswer {
  const perChoice = answer.choices.map((choice) => choiceChunks(chunks, choice, layout));
  let head = '';
  const body: string[] = [];
  let longest = 0;
  for (const list of perChoice) {
    head += list[0] ?? '';
    longest = Math.max(longest, list.length);
  }
  for (let step = 1; step < longest; step++) {
    for (const list of perChoice) {
      const chunk = list[step];
      if (chunk !== undefined) body.push(chunk);
    }
  }
  let finish = '';
  for (const choice of answer.choices) finish += chunks.finishChoice(choice.index, choice.finishReason);
  return { head, body, finish };
}

function choiceChunks(chunks: ChunkWriter, choice: FakeChoice, layout: AnswerLayout): string[] {
  const { index } = choice;
  const deltas: string[] = [];
  const out: string[] = [];
  if (choice.content !== null) {
    out.push(chunks.delta(index, '{"role":"assistant","content":"","refusal":null}'));
    for (const piece of choice.reasoning ?? []) {
      out.push(chunks.delta(index, `{"reasoning_content":${JSON.stringify(piece)}}`));
    }
    choice.pieces.forEach((piece, p) => {
      const logprobs =
        layout.topLogprobs === undefined
          ? 'null'
          : `{"content":[${JSON.stringify(fakeLogprob(piece, index, p, layout.topLogprobs))}],"refusal":null}`;
      out.push(chunks.delta(index, `{"content":${JSON.stringify(piece)}}`, logprobs));
    });
    return out;
  }
  for (const piece of choice.reasoning ?? []) deltas.push(`"reasoning_content":${JSON.stringify(piece)}`);
  choice.toolCalls.forEach((call, k) => {
    const fn = JSON.stringify({ name: call.name, arguments: layout.dialect === 'xai' ? call.arguments : '' });
    deltas.push(`"tool_calls":[{"index":${k},"id":${JSON.stringify(call.id)},"type":"function","function":${fn}}]`);
    if (layout.dialect === 'openai') {
      for (const fragment of argumentFragments(call.arguments)) {
        deltas.push(`"tool_calls":[{"index":${k},"function":{"arguments":${JSON.stringify(fragment)}}}]`);
      }
    }
  });
  if (deltas.length === 0) deltas.push('"tool_calls":[]');
  for (let d = 0; d < deltas.length; d++) {
    const delta = deltas[d] as string;
    out.push(chunks.delta(index, d === 0 ? `{"role":"assistant","content":null,${delta}}` : `{${delta}}`));
  }
  return out;
}
