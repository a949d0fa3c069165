import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { unauthorizedJson } from './auth';
import { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
import { answerChat, type ChatDeps } from './chat';
import { type ChatRequest, type ChatRequestBody, parseChatRequest } from './chat-request';
import { Delays } from './delays';
import { checkDialect, chooseDialect, DIALECT_HEADER } from './dialect';
import { RequestError } from './features';
import { readBody, sendInvalid, sendJson } from './http';
import { DEFAULT_MODELS, modelsEndpoints } from './models';
import { compilePrices, DEFAULT_PRICES, type PriceTable } from './pricing';
import { DEFAULT_PROMPT_CACHE_PREFIXES, PromptCache } from './prompt-cache';
import { type Billed, type RecordedAnswer, type RecordedRequest, Recording } from './recording';
import type { UsageDialect } from './usage';
import { errorJson } from './wire';

export type { Billed, ChatRequestBody, RecordedAnswer, RecordedRequest };
export { DEFAULT_MODELS };

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
  const modelAnswers = modelsEndpoints(models, Math.floor(Date.now() / 1000));

  const recording = new Recording(record);
  const delays = new Delays();
  const sockets = new Set<Socket>();
  let behavior = startBehavior;
  let dialect = initialDialect;
  let seq = 0;
  const chatDeps: ChatDeps = {
    latencyMs,
    replyTokens,
    reasoning,
    promptCache,
    prices,
    recording,
    delays,
    nextIds() {
      seq += 1;
      const suffix = `${idPrefix}${seq.toString(36)}`;
      return { id: `chatcmpl-${suffix}`, requestId: `req_${suffix}` };
    },
  };

  function chat(res: ServerResponse, body: unknown, dialectHeader: string | string[] | undefined): void {
    let request: ChatRequest;
    try {
      request = parseChatRequest(body);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      sendInvalid(res, err.message, err.param, err.code);
      return;
    }
    const choice = chooseDialect(dialectHeader, request.body, dialectOf, dialect);
    if (!('dialect' in choice)) {
      sendJson(res, choice.status, choice.json);
      return;
    }
    answerChat(res, request, choice.dialect, behavior, chatDeps);
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
    recording.request(req, res, path, body, raw);

    const refusal = unauthorizedJson(req.headers.authorization, expectedAuth);
    if (refusal !== undefined) {
      sendJson(res, 401, refusal);
      return;
    }

    if (method === 'POST' && path === '/v1/chat/completions') {
      if (!bodyValid) {
        sendInvalid(
          res,
          'We could not parse the JSON body of your request. The API expects a JSON payload, but what was sent was not valid JSON.',
          null,
        );
        return;
      }
      chat(res, body, req.headers[DIALECT_HEADER]);
      return;
    }
    if (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/'))) {
      const { status, json } =
        path === '/v1/models' ? modelAnswers.list() : modelAnswers.one(path.slice('/v1/models/'.length));
      sendJson(res, status, json);
      return;
    }
    sendJson(res, 404, errorJson(`Invalid URL (${method} ${path})`, 'invalid_request_error'));
  }

  const server = createServer((req, res) => readBody(req, res, (raw) => handle(req, res, raw)));
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
    requests: recording.requests,
    answers: recording.answers,
    get billed() {
      return recording.billed;
    },
    setBehavior(next: Behavior) {
      behavior = armed(next);
    },
    setDialect(next: UsageDialect) {
      checkDialect(next);
      dialect = next;
    },
    reset() {
      recording.reset();
      promptCache?.clear();
      behavior = startBehavior;
      dialect = initialDialect;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        delays.cancelAll();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
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
