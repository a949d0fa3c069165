import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
import { exposesReasoningContent, type FakeAnswer, fakeAnswer } from './choices';
import { type ChatMessageLike, type FakeCompletion, fakeCompletion, isReasoningModel } from './completion';
import { type Features, mayHaveFeatures, parseFeatures, RequestError } from './features';
import { compiledCost, compilePrices, DEFAULT_PRICES, type PriceTable } from './pricing';
import { DEFAULT_PROMPT_CACHE_PREFIXES, PromptCache } from './prompt-cache';
import { asDialect, fakeSourcesUsed, fakeUsage, type UsageDialect } from './usage';
import {
  type AnswerMeta,
  answerJson,
  ChunkWriter,
  completionJson,
  DONE_EVENT,
  errorJson,
  layoutOf,
  type StreamedAnswer,
  statusErrorJson,
  streamedAnswer,
} from './wire';

/** Options of {@link startFakeOpenAI}; every field is optional. */
export interface FakeOpenAIOptions {
  /** Port to listen on; 0 (the default) picks a free one, read it back from `FakeOpenAI.port`. */
  port?: number;
  /** Interface to listen on; defaults to `127.0.0.1` (loopback only). */
  host?: string;
  /**
   * When set, every `/v1` request must carry `Authorization: Bearer <apiKey>`; others get OpenAI's
   * 401 error JSON. When absent, any key (or none) is accepted.
   */
  apiKey?: string;
  /** Behaviour at start and after `reset()`; defaults to `{ kind: 'ok' }`. */
  behavior?: Behavior;
  /** Delay before the first byte of every chat completion answer, in ms; 0 (the default) adds no timer. */
  latencyMs?: number;
  /** Record each request in `FakeOpenAI.requests`; defaults to true. Turn off for long benchmark runs. */
  record?: boolean;
  /** Make every natural reply exactly this many completion tokens long (before `max_tokens` cuts it). */
  replyTokens?: number;
  /** Model ids listed by `GET /v1/models`; defaults to {@link DEFAULT_MODELS}. Chat requests may name any model. */
  models?: readonly string[];
  /**
   * The usage dialect at start and after `reset()` (see {@link UsageDialect}); defaults to `'xai'`.
   * `setDialect` switches it at runtime; a request can override it, see {@link FakeOpenAIOptions.dialectOf}.
   */
  dialect?: UsageDialect;
  /**
   * Picks the dialect of one request from its parsed body (e.g. by `model` or `user`), for a test
   * that mixes dialects through a proxy that does not forward headers; `undefined` means the
   * server's current dialect. Not called when the request carries an `x-fake-dialect: xai|openai`
   * header, which always wins. If it throws or returns something other than a dialect, the request
   * gets a 500 `server_error` saying so.
   */
  dialectOf?: (body: ChatRequestBody) => UsageDialect | undefined;
  /**
   * Bill reasoning tokens for reasoning models (see `isReasoningModel`, `fakeReasoningTokens`);
   * defaults to true. False makes every answer report 0 reasoning tokens.
   */
  reasoning?: boolean;
  /**
   * Prompt caching, in both dialects; defaults to true. The server remembers the leading message
   * runs of every answered request, and reports as `cached_tokens` the `countPromptTokens` of the
   * longest leading run (at least one message) of a new request that an earlier one also started
   * with; 0 for a prompt never seen. An identical repeat is cached in full. Prefixes are shared
   * across models and dialects (the key is the messages' JSON alone). `reset()` forgets them.
   */
  promptCache?: boolean;
  /**
   * How many message prefixes the prompt cache holds before it stops remembering new ones (lookups
   * go on); defaults to 50 000, a few MB. Ignored without `promptCache`.
   */
  promptCacheMaxPrefixes?: number;
  /**
   * The price table behind xAI's `cost_in_usd_ticks`, by exact model id; defaults to
   * {@link DEFAULT_PRICES} (xAI's list). Replaces the default table, it is not merged into it. A
   * model absent from it gets no `cost_in_usd_ticks` (a call the gateway must price itself). A bad
   * rate fails `startFakeOpenAI` with a RangeError naming it.
   */
  prices?: PriceTable;
}

/** A chat completion request body as `dialectOf` sees it: validated `model` and `messages`, the rest as sent. */
export interface ChatRequestBody {
  model: string;
  messages: ChatMessageLike[];
  [param: string]: unknown;
}

/** One chat completion the fake answered (an id was given out); see `FakeOpenAI.answers`. */
export interface RecordedAnswer {
  /** The answer's `chatcmpl-…` id. */
  id: string;
  model: string;
  stream: boolean;
  /** The dialect chosen for it (header, `dialectOf`, or the server's). */
  dialect: UsageDialect;
  /**
   * The exact usage value put on the wire (an `XaiUsage`, an `OpenAIUsage`, or the raw value of a
   * `usage` behaviour); undefined when none was: `no-usage`, a stream without
   * `stream_options.include_usage`, a cut-off answer (`stall-stream`, `reset-mid-stream`,
   * `malformed-json`), or a delayed stream its client left before the end.
   */
  usage: unknown;
}

/** What the fake has billed: the xAI answers whose usage, with a `cost_in_usd_ticks`, was sent. */
export interface Billed {
  calls: number;
  /** The sum of their `cost_in_usd_ticks`. */
  ticks: bigint;
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** The request path without its query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Headers with lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /**
   * The parsed JSON body, every field as sent (nothing is dropped or defaulted); the raw text when it
   * is not valid JSON; undefined when empty.
   */
  body: unknown;
  /**
   * The body exactly as received (UTF-8 decoded); '' when empty. For what parsing would blur: an
   * integer above 2^53 (a `seed`), a repeated key, the order and spacing of the keys.
   */
  rawBody: string;
  /** Set when the caller closed the connection before the answer was complete (an abandoned call). */
  abandoned?: boolean;
}

/** A running fake; see {@link startFakeOpenAI}. */
export interface FakeOpenAI {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:1234/v1`, ready for `new OpenAI({ baseURL })`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first, unless started with `record: false` (then always empty). */
  readonly requests: RecordedRequest[];
  /**
   * Every chat completion answered (not `status` or `hang` ones), in the order they started, with the
   * usage it sent; unless started with `record: false` (then always empty).
   */
  readonly answers: RecordedAnswer[];
  /**
   * A snapshot of the running total of what the fake billed: every answer whose computed xAI usage
   * carried `cost_in_usd_ticks` and was sent. Kept with `record: false` too; raw usage sent by a
   * `usage` behaviour is not counted.
   */
  readonly billed: Readonly<Billed>;
  /**
   * Switches the behaviour for requests that arrive from now on; answers already under way keep theirs.
   * Throws a TypeError for a `usage` behaviour whose value JSON cannot carry (a BigInt, a cycle).
   */
  setBehavior(behavior: Behavior): void;
  /**
   * Switches the usage dialect for requests that arrive from now on (headers and `dialectOf` still
   * override it); throws a TypeError for anything but `'xai'` or `'openai'`.
   */
  setDialect(dialect: UsageDialect): void;
  /**
   * Clears `requests`, `answers`, `billed` and the prompt cache, and restores the behaviour and the
   * dialect the fake was started with.
   */
  reset(): void;
  /**
   * Stops listening and destroys every open socket (stalled, hanging and keep-alive ones included), so it
   * never waits on a client. Safe to call more than once.
   */
  close(): Promise<void>;
}

/** The model ids `GET /v1/models` lists by default (xAI's). */
export const DEFAULT_MODELS: readonly string[] = Object.freeze(['grok-4', 'grok-3', 'grok-3-mini']);

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const JSON_TYPE = 'application/json';
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

interface ChatBody extends ChatRequestBody {
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

const DIALECT_HEADER = 'x-fake-dialect';

/**
 * Starts a loopback fake of xAI's OpenAI-compatible API: `POST /v1/chat/completions` (JSON and SSE),
 * `GET /v1/models` and `GET /v1/models/{id}`. Answers are deterministic (see `fakeCompletion`), speak
 * OpenAI's exact wire format, and can be switched to faults with `setBehavior`.
 *
 * Edge answers, in OpenAI's `{"error":{"message","type","param","code"}}` shape: unknown path or method
 * -> 404; wrong or missing key (when `apiKey` is set) -> 401; invalid JSON, a missing `model` or
 * `messages`, a `max_tokens` below 1, `stream_options` without `stream`, a bad `n`, `top_logprobs`,
 * `tools`, `tool_choice` or `response_format` (see `parseFeatures`), or an `x-fake-dialect`
 * header other than `xai` / `openai` -> 400; a body over 16 MiB -> 413. Keep-alive is supported;
 * resolves once listening, rejects if the port cannot be bound or an option is invalid.
 *
 * Beyond text (see `fakeAnswer`): tool calls when the request has `tools` (`finish_reason:
 * 'tool_calls'`; streamed whole per call in the `xai` dialect, in argument fragments in the `openai`
 * one), `n` choices, `logprobs` / `top_logprobs`, `response_format` JSON replies, and, in the `xai`
 * dialect for models that expose it (`exposesReasoningContent`), `reasoning_content` (streamed as
 * deltas before the content). Every answer and chunk carries `system_fingerprint`, every message
 * `refusal: null`. Every other request parameter is only recorded in `requests`.
 *
 * Usage speaks xAI's dialect by default, OpenAI's on request (see {@link UsageDialect}); per answer
 * the dialect is, first that applies: the request's `x-fake-dialect` header, `dialectOf(body)`, the
 * server's (`dialect`, `setDialect`). Its figures are deterministic: prompt tokens by
 * `countPromptTokens`, visible completion tokens = content pieces (= stream content chunks),
 * reasoning tokens by `fakeReasoningTokens`, cached tokens from the prompt cache (`promptCache`),
 * sources by `fakeSourcesUsed` (xAI only), the cost by `costInUsdTicks` with `prices` (xAI only,
 * priced models only). With `n` > 1 the prompt is counted once and completion and reasoning tokens
 * are summed over the choices (each choice is billed as output, as both providers do); a tool call's
 * completion tokens are `toolCallTokens` of its arguments. A stream and a plain answer to the same request report the same figures but
 * for `cached_tokens` (and so the cost), which depend on the requests before.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const {
    port = 0,
    host = '127.0.0.1',
    apiKey,
    behavior: initialBehavior = DEFAULT_BEHAVIOR,
    latencyMs = 0,
    record = true,
    replyTokens,
    models = DEFAULT_MODELS,
    dialect: initialDialect = 'xai',
    dialectOf,
    reasoning = true,
    promptCache: cachePrompts = true,
    promptCacheMaxPrefixes = DEFAULT_PROMPT_CACHE_PREFIXES,
    prices: priceTable = DEFAULT_PRICES,
  } = options;
  checkDialect(initialDialect);
  const prices = compilePrices(priceTable);
  const promptCache = cachePrompts ? new PromptCache(promptCacheMaxPrefixes) : undefined;
  const startBehavior = armed(initialBehavior);
  const expectedAuth = apiKey === undefined ? undefined : `Bearer ${apiKey}`;
  const idPrefix = randomBytes(6).toString('hex');
  const created = Math.floor(Date.now() / 1000);
  const modelsJson = JSON.stringify({
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'xai' })),
  });

  const requests: RecordedRequest[] = [];
  const answers: RecordedAnswer[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let behavior = startBehavior;
  let dialect = initialDialect;
  let billedCalls = 0;
  let billedTicks = 0n;
  let seq = 0;

  /** Runs `fn` after `ms` unless the response closed first; the timer is cancelled by `close()`. */
  function after(res: ServerResponse, ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const cancel = () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
    const timer = setTimeout(() => {
      timers.delete(timer);
      res.off('close', cancel);
      if (!res.destroyed) fn();
    }, ms);
    timers.add(timer);
    res.once('close', cancel);
  }

  function sendJson(res: ServerResponse, status: number, json: string, extra?: Record<string, string>): void {
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(json), ...extra });
    res.end(json);
  }

  function invalid(res: ServerResponse, message: string, param: string | null, code: string | null = null): void {
    sendJson(res, 400, errorJson(message, 'invalid_request_error', param, code));
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);

    let body: unknown;
    let bodyValid = true;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        bodyValid = false;
      }
    }
    if (record) {
      const entry: RecordedRequest = { method, path, headers: flatHeaders(req), body, rawBody: raw };
      requests.push(entry);
      res.once('close', () => {
        if (!res.writableFinished) entry.abandoned = true;
      });
    }

    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      const given = req.headers.authorization;
      const message =
        given === undefined
          ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
          : `Incorrect API key provided: ${maskKey(given.replace(/^Bearer\s+/i, ''))}.`;
      sendJson(
        res,
        401,
        errorJson(message, 'invalid_request_error', null, given === undefined ? null : 'invalid_api_key'),
      );
      return;
    }

    if (method === 'POST' && path === '/v1/chat/completions') {
      if (!bodyValid) {
        invalid(
          res,
          'We could not parse the JSON body of your request. The API expects a JSON payload, but what was sent was not valid JSON.',
          null,
        );
        return;
      }
      chat(res, body, req.headers[DIALECT_HEADER]);
      return;
    }
    if (method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, modelsJson);
      return;
    }
    if (method === 'GET' && path.startsWith('/v1/models/')) {
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (models.includes(id)) {
        sendJson(res, 200, JSON.stringify({ id, object: 'model', created, owned_by: 'xai' }));
      } else {
        sendJson(
          res,
          404,
          errorJson(
            `The model \`${id}\` does not exist or you do not have access to it.`,
            'invalid_request_error',
            null,
            'model_not_found',
          ),
        );
      }
      return;
    }
    sendJson(res, 404, errorJson(`Invalid URL (${method} ${path})`, 'invalid_request_error'));
  }

  /** The dialect of one request, or undefined once it has been answered with an error. */
  function dialectFor(res: ServerResponse, request: ChatBody, header: string | string[] | undefined) {
    if (header !== undefined) {
      const named = typeof header === 'string' ? asDialect(header.trim().toLowerCase()) : undefined;
      if (named === undefined) {
        invalid(
          res,
          `Invalid '${DIALECT_HEADER}' header: expected 'xai' or 'openai', got ${JSON.stringify(header)}.`,
          null,
        );
      }
      return named;
    }
    if (dialectOf === undefined) return dialect;
    let chosen: unknown;
    try {
      chosen = dialectOf(request);
    } catch (err) {
      sendJson(
        res,
        500,
        errorJson(`fake-openai: dialectOf threw: ${(err as Error)?.message ?? String(err)}`, 'server_error'),
      );
      return undefined;
    }
    if (chosen === undefined) return dialect;
    const named = asDialect(chosen);
    if (named === undefined) {
      sendJson(
        res,
        500,
        errorJson(`fake-openai: dialectOf returned ${JSON.stringify(chosen)}, not 'xai' or 'openai'`, 'server_error'),
      );
    }
    return named;
  }

  function chat(res: ServerResponse, body: unknown, dialectHeader: string | string[] | undefined): void {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      invalid(res, 'The request body must be a JSON object.', null);
      return;
    }
    const request = body as ChatBody;
    if (typeof request.model !== 'string' || request.model.length === 0) {
      invalid(res, 'you must provide a model parameter', 'model');
      return;
    }
    if (!Array.isArray(request.messages) || request.messages.length === 0) {
      invalid(res, "Invalid 'messages': expected a non-empty array of messages.", 'messages');
      return;
    }
    let maxTokens: number | undefined;
    for (const param of ['max_tokens', 'max_completion_tokens'] as const) {
      const value = request[param];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        invalid(
          res,
          `Invalid '${param}': expected an integer >= 1, but got ${JSON.stringify(value)} instead.`,
          param,
          'integer_below_min_value',
        );
        return;
      }
      maxTokens = maxTokens === undefined ? value : Math.min(maxTokens, value);
    }
    const stream = request.stream === true;
    if (!stream && request.stream_options != null) {
      invalid(res, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
      return;
    }

    let features: Features | undefined;
    if (mayHaveFeatures(request)) {
      try {
        features = parseFeatures(request);
      } catch (err) {
        if (!(err instanceof RequestError)) throw err;
        invalid(res, err.message, err.param, err.code);
        return;
      }
    }

    const answerDialect = dialectFor(res, request, dialectHeader);
    if (answerDialect === undefined) return;
    const reasons = reasoning && isReasoningModel(request.model);
    // NOTE: only xAI's Chat Completions carry `reasoning_content` (OpenAI's have no such field).
    const exposeReasoning = reasons && answerDialect === 'xai' && exposesReasoningContent(request.model);
    if (exposeReasoning && features === undefined) {
      features = { n: 1, calls: [], format: { kind: 'text' }, logprobs: false, topLogprobs: 0 };
    }

    const current = behavior;
    if (current.kind === 'hang') return;
    const delay = latencyMs + (current.kind === 'slow-first-byte' ? current.delayMs : 0);
    after(res, delay, () => {
      if (current.kind === 'status') {
        const headers: Record<string, string> = {};
        if (current.retryAfterS !== undefined) headers['retry-after'] = String(current.retryAfterS);
        sendJson(res, current.status, current.body ?? statusErrorJson(current.status), headers);
        return;
      }
      // The plain text answer keeps to `fakeCompletion`; `fakeAnswer` only for requests with features.
      const full =
        features === undefined
          ? undefined
          : fakeAnswer(request.messages, features, { maxTokens, replyTokens, reasoning: reasons, exposeReasoning });
      const plain =
        full === undefined
          ? fakeCompletion(request.messages, { maxTokens, replyTokens, reasoning: reasons })
          : undefined;
      const completion = (full ?? plain) as FakeAnswer | FakeCompletion;
      const cachedTokens = promptCache === undefined ? 0 : promptCache.lookupAndRemember(request.messages);
      seq += 1;
      const meta: AnswerMeta = {
        id: `chatcmpl-${idPrefix}${seq.toString(36)}`,
        created: Math.floor(Date.now() / 1000),
        model: request.model,
      };
      const requestId = `req_${idPrefix}${seq.toString(36)}`;
      const answer: RecordedAnswer = {
        id: meta.id,
        model: request.model,
        stream,
        dialect: answerDialect,
        usage: undefined,
      };
      if (record) answers.push(answer);

      // Built only for an answer that carries usage, so the BigInt pricing stays off the other paths.
      let cost: bigint | undefined;
      const usageOf = (): unknown => {
        if (current.kind === 'usage') return current.usage;
        const xai = answerDialect === 'xai';
        const figures = {
          promptTokens: completion.promptTokens,
          cachedTokens,
          completionTokens: completion.completionTokens,
          reasoningTokens: completion.reasoningTokens,
          sourcesUsed: xai ? fakeSourcesUsed(request) : 0,
        };
        const price = xai ? prices.get(request.model) : undefined;
        if (price !== undefined) cost = compiledCost(price, figures);
        return fakeUsage(answerDialect, { ...figures, costInUsdTicks: cost });
      };
      const sent = (usage: unknown) => {
        answer.usage = usage;
        if (cost !== undefined) {
          billedCalls += 1;
          billedTicks += cost;
        }
      };

      if (!stream) {
        const withUsage = current.kind !== 'no-usage';
        const usage = withUsage ? usageOf() : undefined;
        const json =
          plain !== undefined
            ? completionJson(meta, plain, usage)
            : answerJson(meta, full as FakeAnswer, layoutOf(features as Features, answerDialect), usage);
        if (current.kind === 'malformed-json') {
          sendJson(res, 200, json.slice(0, Math.floor(json.length / 2)), { 'x-request-id': requestId });
          return;
        }
        if (current.kind === 'stall-stream' || current.kind === 'reset-mid-stream') {
          res.writeHead(200, {
            'content-type': JSON_TYPE,
            'content-length': Buffer.byteLength(json),
            'x-request-id': requestId,
          });
          breakOff(res, json.slice(0, Math.floor(json.length / 2)), current.kind === 'reset-mid-stream');
          return;
        }
        sendJson(res, 200, json, { 'x-request-id': requestId });
        if (withUsage) sent(usage);
        return;
      }

      const includeUsage = request.stream_options?.include_usage === true;
      const chunks = new ChunkWriter(meta, includeUsage);
      res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestId });
      if (current.kind === 'malformed-json') {
        res.end(chunks.role() + chunks.malformed() + DONE_EVENT);
        return;
      }
      // The plain answer's chunks are written straight from its pieces; an answer with features is
      // laid out first (head: every choice's first chunk; body: the rest, interleaved by index).
      const laidOut: StreamedAnswer | undefined =
        full === undefined ? undefined : streamedAnswer(chunks, full, layoutOf(features as Features, answerDialect));
      const head = laidOut === undefined ? chunks.role() : laidOut.head;
      const bodyLength = laidOut === undefined ? (plain as FakeCompletion).pieces.length : laidOut.body.length;
      const bodyChunk = (i: number): string =>
        laidOut === undefined
          ? chunks.content((plain as FakeCompletion).pieces[i] as string)
          : (laidOut.body[i] as string);
      if (current.kind === 'stall-stream' || current.kind === 'reset-mid-stream') {
        let partial = head;
        const sent = Math.min(current.afterChunks, bodyLength);
        for (let i = 0; i < sent; i++) partial += bodyChunk(i);
        breakOff(res, partial, current.kind === 'reset-mid-stream');
        return;
      }
      const withUsage = includeUsage && current.kind !== 'no-usage';
      const usage = withUsage ? usageOf() : undefined;
      let ending = laidOut === undefined ? chunks.finish((plain as FakeCompletion).finishReason) : laidOut.finish;
      if (withUsage) ending += chunks.usage(usage);
      ending += DONE_EVENT;

      const chunkDelayMs = current.kind === 'ok' ? (current.chunkDelayMs ?? 0) : 0;
      if (chunkDelayMs <= 0) {
        let all = head;
        if (plain !== undefined) {
          for (const piece of plain.pieces) all += chunks.content(piece);
        } else {
          for (const chunk of (laidOut as StreamedAnswer).body) all += chunk;
        }
        res.end(all + ending);
        if (withUsage) sent(usage);
        return;
      }
      res.write(head);
      let next = 0;
      const step = () => {
        if (next < bodyLength) {
          res.write(bodyChunk(next));
          next += 1;
          after(res, chunkDelayMs, step);
        } else {
          res.end(ending);
          if (withUsage) sent(usage);
        }
      };
      after(res, chunkDelayMs, step);
    });
  }

  /** Writes `data`, then either leaves the answer open forever or destroys its socket once written. */
  function breakOff(res: ServerResponse, data: string, reset: boolean): void {
    if (!reset) {
      res.write(data);
      return;
    }
    res.write(data, () => res.socket?.destroy());
  }

  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!res.headersSent) {
          sendJson(res, 413, errorJson('Request body too large.', 'invalid_request_error'), { connection: 'close' });
        }
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      const raw = parts.length === 1 ? (parts[0] as Buffer).toString() : Buffer.concat(parts).toString();
      handle(req, res, raw);
    });
  });
  // NOTE: above undici's default keep-alive (4 s) so a pooled client never reuses a socket the
  // server is just closing (the race shows up as ECONNRESET under benchmark load).
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}/v1`,
    port: address.port,
    requests,
    answers,
    get billed() {
      return { calls: billedCalls, ticks: billedTicks };
    },
    setBehavior(next: Behavior) {
      behavior = armed(next);
    },
    setDialect(next: UsageDialect) {
      checkDialect(next);
      dialect = next;
    },
    reset() {
      requests.length = 0;
      answers.length = 0;
      billedCalls = 0;
      billedTicks = 0n;
      promptCache?.clear();
      behavior = startBehavior;
      dialect = initialDialect;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}

function checkDialect(dialect: unknown): void {
  if (asDialect(dialect) === undefined) {
    throw new TypeError(`dialect must be 'xai' or 'openai', got ${JSON.stringify(dialect)}`);
  }
}

/**
 * `behavior` ready to serve: a `usage` behaviour's value is copied through JSON once, here, so it
 * is checked before any request (JSON.stringify throws on a BigInt or a cycle) and what is recorded
 * in `answers` is exactly what was sent.
 */
function armed(behavior: Behavior): Behavior {
  if (behavior.kind !== 'usage') return behavior;
  const json = JSON.stringify(behavior.usage) ?? 'null';
  return { kind: 'usage', usage: JSON.parse(json) };
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Masks a key the way OpenAI echoes it back: first and last few characters only. */
function maskKey(key: string): string {
  return key.length <= 8 ? '*'.repeat(key.length) : `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}
