import { Agent, errors as undiciErrors } from 'undici';
import { Slots } from '../concurrency/slots';
import type { UpstreamRequest } from '../operations/upstream-request';
import { invalidReason, normalizeUsage, type ReasoningRule, reasoningRuleOf } from '../usage/normalize';
import { readAnswer } from './answers';
import { DispatchedStream, type StreamHead } from './dispatched-stream';
import type { ChunkSink, CompletionResult, Provider } from './provider';
import { UpstreamError } from './upstream-error';
import { UpstreamEvents } from './upstream-events';

export interface OpenAICompatibleOptions {
  baseUrl: string;
  apiKey: string;
  /** `AI_UPSTREAM_TIMEOUT_MS`: a whole non-streaming call, and a stream's wait for its first byte. */
  timeoutMs: number;
  /** `AI_STREAM_IDLE_TIMEOUT_MS`: the longest silence between a stream's chunks (default `timeoutMs`). */
  streamIdleTimeoutMs?: number | undefined;
  /**
   * `AI_UPSTREAM_MAX_CONNECTIONS`: pooled keep-alive connections to the upstream; 0 or absent =
   * unbounded (the pool grows with demand).
   */
  maxConnections?: number | undefined;
}

/**
 * The upstream body: the client's own fields as sent, then the ones we control (model, messages,
 * temperature, the clamped cap under the client's name for it, stream, and the usage chunk always
 * asked for on a stream).
 */
function payload(req: UpstreamRequest): string {
  const body: Record<string, unknown> =
    req.extra === undefined
      ? { model: req.model, messages: req.messages, temperature: req.temperature }
      : { ...req.extra, model: req.model, messages: req.messages, temperature: req.temperature };
  if (req.maxTokensField === 'max_completion_tokens') body.max_completion_tokens = req.maxTokens;
  else body.max_tokens = req.maxTokens;
  body.stream = req.stream;
  if (req.stream) {
    const asked = req.extra?.stream_options;
    body.stream_options =
      asked && typeof asked === 'object' ? { ...asked, include_usage: true } : { include_usage: true };
  }
  return JSON.stringify(body);
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

async function statusError(status: number, headers: Record<string, string | string[] | undefined>, body: string) {
  let detail = '';
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string };
    detail = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? '');
  } catch {
    // not JSON: keep the status only
  }
  const suffix = detail ? `: ${detail.slice(0, 200)}` : '';
  if (status === 429) {
    return new UpstreamError(
      'rate_limited',
      `Upstream rate limited${suffix}`,
      status,
      retryAfter(headers['retry-after']),
    );
  }
  if (status === 400 || status === 404 || status === 413 || status === 422) {
    return new UpstreamError('rejected', `Upstream rejected the request (${status})${suffix}`, status);
  }
  return new UpstreamError('status', `Upstream answered ${status}${suffix}`, status);
}

function classify(err: unknown, signal: AbortSignal, timedOut: boolean): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (timedOut && !signal.aborted)
    return new UpstreamError('timeout', 'Upstream timed out', undefined, undefined, { cause: err });
  if (signal.aborted) {
    // A stream ended by the replica (shutdown) carries its own error; any other abort is the client's.
    if (signal.reason instanceof UpstreamError) return signal.reason;
    return new UpstreamError('aborted', 'Client went away', undefined, undefined, { cause: err });
  }
  if (err instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError('timeout', 'Upstream went silent mid-answer', undefined, undefined, { cause: err });
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return new UpstreamError('timeout', 'Upstream timed out', undefined, undefined, { cause: err });
  }
  const code = (err as { code?: string }).code ?? '';
  return new UpstreamError(
    'connection',
    `Upstream connection failed${code ? ` (${code})` : ''}`,
    undefined,
    undefined,
    {
      cause: err,
    },
  );
}

/**
 * An OpenAI-compatible Chat Completions client (xAI Grok by default) over a pooled keep-alive undici
 * Agent. `AI_UPSTREAM_TIMEOUT_MS` bounds the whole non-streaming call and a stream's wait for its
 * first byte; `AI_STREAM_IDLE_TIMEOUT_MS` every silence between a stream's chunks (a stalled stream
 * fails, never hangs).
 *
 * The pool is unbounded unless `maxConnections` is set. Then {@link connections} counts the calls
 * in flight against it: with one request per connection (no pipelining) a call that takes a slot
 * always finds a connection free or a new one allowed, so undici never queues it behind another
 * call. Whoever calls takes the slot first (`AiCalls` does, before admission).
 */
export class OpenAICompatibleProvider implements Provider {
  readonly name = 'xai' as const;
  readonly server: { address: string; port: number };
  readonly connections: Slots;
  private readonly agent: Agent;
  private readonly streamIdleTimeoutMs: number;
  /** How this upstream counts reasoning tokens when its usage has no total to tell. */
  private readonly reasoningRule: ReasoningRule;
  /** The endpoint as the dispatcher takes it: parsed once, not on every call. */
  private readonly origin: string;
  private readonly path: string;

  constructor(private readonly options: OpenAICompatibleOptions) {
    const url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.server = { address: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    this.reasoningRule = reasoningRuleOf(options.baseUrl);
    const max = options.maxConnections ?? 0;
    this.connections = new Slots(max);
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? options.timeoutMs;
    this.agent = new Agent({
      // null: undici's own default, a pool that opens a connection whenever none is free.
      connections: max > 0 ? max : null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  private headers(req: UpstreamRequest): Record<string, string> {
    return {
      authorization: `Bearer ${this.options.apiKey}`,
      'content-type': 'application/json',
      accept: req.stream ? 'text/event-stream' : 'application/json',
    };
  }

  /**
   * The call through `dispatch`, not `agent.request()`: request() wraps every answer in a Readable
   * stream and a handler that outlive the call long enough to survive young-generation
   * collections (at one connection about 4 MB of each scavenge survived and was promoted, pauses
   * 8-10 ms; through `dispatch` under 0.1 MB, about 1.5 ms; see
   * docs/adr/0004-undici-dispatch-for-upstream-calls.md).
   */
  private call(req: UpstreamRequest, signal: AbortSignal): DispatchedStream {
    return new DispatchedStream(
      this.agent,
      {
        origin: this.origin,
        path: this.path,
        method: 'POST',
        headers: this.headers(req),
        body: payload(req),
        // A stream's silences are bounded by the idle timeout; the first byte still by headersTimeout.
        ...(req.stream ? { bodyTimeout: this.streamIdleTimeoutMs } : {}),
      },
      signal,
    );
  }

  async complete(req: UpstreamRequest, signal: AbortSignal): Promise<CompletionResult> {
    // NOTE: one controller, one timer: AbortSignal.timeout + AbortSignal.any cost several µs and
    // weak-reference bookkeeping per call, and this runs once per request.
    const combined = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      combined.abort();
    }, this.options.timeoutMs);
    const onClientGone = () => combined.abort();
    if (signal.aborted) combined.abort();
    else signal.addEventListener('abort', onClientGone, { once: true });
    try {
      const answer = this.call({ ...req, stream: false }, combined.signal);
      const res = await answer.head;
      const text = await answer.text();
      if (res.statusCode < 200 || res.statusCode >= 300) throw await statusError(res.statusCode, res.headers, text);
      let body: { id?: unknown; model?: unknown; created?: unknown; choices?: unknown; usage?: unknown };
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new UpstreamError('malformed', 'Upstream sent malformed JSON', res.statusCode, undefined, { cause: err });
      }
      const reading = body !== null && typeof body === 'object' ? readAnswer(body.choices) : undefined;
      if (reading === undefined) {
        throw new UpstreamError('malformed', 'Upstream response has no choices', res.statusCode);
      }
      return {
        id: typeof body.id === 'string' ? body.id : `chatcmpl-${Date.now()}`,
        model: typeof body.model === 'string' ? body.model : req.model,
        created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
        ...reading,
        usage: normalizeUsage(body.usage, this.reasoningRule),
        rawUsage: body.usage ?? undefined,
        usageInvalid: invalidReason(body.usage),
        body: body as Record<string, unknown>,
        text,
      };
    } catch (err) {
      throw classify(err, signal, timedOut);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onClientGone);
    }
  }

  async stream(req: UpstreamRequest, signal: AbortSignal, onChunk: ChunkSink): Promise<void> {
    // Per-chunk silence is bounded by the call's bodyTimeout (idle); the first byte by headersTimeout.
    const body = this.call({ ...req, stream: true }, signal);
    let res: StreamHead;
    try {
      res = await body.head;
    } catch (err) {
      body.close();
      throw classify(err, signal, false);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await body.text().catch(() => '');
      throw await statusError(res.statusCode, res.headers, text);
    }
    const events = new UpstreamEvents(this.reasoningRule, res.statusCode);
    try {
      // Each piece straight from the socket's callback: its events handed on, the upstream held
      // back while the client's answer is full, and the rest abandoned once [DONE] came.
      await body.read((piece) => {
        events.push(piece);
        let hold: Promise<void> | undefined;
        for (let chunk = events.next(); chunk !== undefined; chunk = events.next()) hold = onChunk(chunk) ?? hold;
        return events.done ? 'stop' : hold;
      });
      // The body ended without [DONE]: complete if the usage chunk came, else broken off.
      if (events.done || events.sawUsage) return;
      throw new UpstreamError('connection', 'Upstream stream ended early', res.statusCode);
    } catch (err) {
      throw classify(err, signal, false);
    } finally {
      body.close();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
