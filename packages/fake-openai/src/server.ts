import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Behavior, DEFAULT_BEHAVIOR } from './behavior';
import { type ChatMessageLike, fakeCompletion } from './completion';
import { type AnswerMeta, ChunkWriter, completionJson, DONE_EVENT, errorJson, statusErrorJson } from './wire';

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
}

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** The request path without its query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Headers with lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The parsed JSON body; the raw text when it is not valid JSON; undefined when empty. */
  body: unknown;
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
  /** Switches the behaviour for requests that arrive from now on; answers already under way keep theirs. */
  setBehavior(behavior: Behavior): void;
  /** Clears `requests` and restores the behaviour the fake was started with. */
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

interface ChatBody {
  model: string;
  messages: ChatMessageLike[];
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

/**
 * Starts a loopback fake of xAI's OpenAI-compatible API: `POST /v1/chat/completions` (JSON and SSE),
 * `GET /v1/models` and `GET /v1/models/{id}`. Answers are deterministic (see `fakeCompletion`), speak
 * OpenAI's exact wire format, and can be switched to faults with `setBehavior`.
 *
 * Edge answers, in OpenAI's `{"error":{"message","type","param","code"}}` shape: unknown path or method
 * -> 404; wrong or missing key (when `apiKey` is set) -> 401; invalid JSON, a missing `model` or
 * `messages`, a `max_tokens` below 1 or `stream_options` without `stream` -> 400; a body over 16 MiB
 * -> 413. Keep-alive is supported; resolves once listening, rejects if the port cannot be bound.
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
  } = options;
  const expectedAuth = apiKey === undefined ? undefined : `Bearer ${apiKey}`;
  const idPrefix = randomBytes(6).toString('hex');
  const created = Math.floor(Date.now() / 1000);
  const modelsJson = JSON.stringify({
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'xai' })),
  });

  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let behavior = initialBehavior;
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
      const entry: RecordedRequest = { method, path, headers: flatHeaders(req), body };
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
      chat(res, body);
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

  function chat(res: ServerResponse, body: unknown): void {
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
      const completion = fakeCompletion(request.messages, { maxTokens, replyTokens });
      seq += 1;
      const meta: AnswerMeta = {
        id: `chatcmpl-${idPrefix}${seq.toString(36)}`,
        created: Math.floor(Date.now() / 1000),
        model: request.model,
      };
      const requestId = `req_${idPrefix}${seq.toString(36)}`;

      if (!stream) {
        const json = completionJson(meta, completion, current.kind !== 'no-usage');
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
        return;
      }

      const includeUsage = request.stream_options?.include_usage === true;
      const chunks = new ChunkWriter(meta, includeUsage);
      res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestId });
      if (current.kind === 'malformed-json') {
        res.end(chunks.role() + chunks.malformed() + DONE_EVENT);
        return;
      }
      if (current.kind === 'stall-stream' || current.kind === 'reset-mid-stream') {
        let partial = chunks.role();
        const sent = Math.min(current.afterChunks, completion.pieces.length);
        for (let i = 0; i < sent; i++) partial += chunks.content(completion.pieces[i] as string);
        breakOff(res, partial, current.kind === 'reset-mid-stream');
        return;
      }
      let ending = chunks.finish(completion.finishReason);
      if (includeUsage && current.kind !== 'no-usage') ending += chunks.usage(completion);
      ending += DONE_EVENT;

      const chunkDelayMs = current.kind === 'ok' ? (current.chunkDelayMs ?? 0) : 0;
      if (chunkDelayMs <= 0) {
        let all = chunks.role();
        for (const piece of completion.pieces) all += chunks.content(piece);
        res.end(all + ending);
        return;
      }
      res.write(chunks.role());
      let next = 0;
      const step = () => {
        if (next < completion.pieces.length) {
          res.write(chunks.content(completion.pieces[next] as string));
          next += 1;
          after(res, chunkDelayMs, step);
        } else {
          res.end(ending);
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
    setBehavior(next: Behavior) {
      behavior = next;
    },
    reset() {
      requests.length = 0;
      behavior = initialBehavior;
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
