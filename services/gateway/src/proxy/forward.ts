import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, flushHeadAtTurnEnd, HttpError, IDENTITY_HEADERS } from '@flashcase/telemetry';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Request, Response } from 'express';
import { Agent, type Dispatcher } from 'undici';

// Looked up per call: see the note in ai-proxy's ai-calls.ts (dual-package hazard).
const tracer = () => trace.getTracer('@flashcase/gateway');

// Hop-by-hop headers (RFC 9110 7.6.1) and ones we set ourselves are never copied across.
const DROP_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'trailer',
  'te',
  'x-request-id',
  'content-length',
  'date',
  'x-powered-by',
]);

/** Answers up to this size (with a Content-Length) are relayed in one write; larger ones stream. */
const MAX_BUFFERED_BODY = 1024 * 1024;

const FORWARD_REQUEST_HEADERS = ['accept', 'accept-language', 'user-agent', 'content-type'];

/** What a full pool tells the client to wait: a connection frees as soon as one call ends. */
const POOL_FULL_RETRY_AFTER_S = 1;

export interface ForwarderOptions {
  /** Base URL of the internal service (`http://127.0.0.1:8001`). */
  target: string;
  /** Name for spans and errors (`ai-proxy`). */
  name: string;
  internalToken?: string | undefined;
  /** Longest wait for the answer's headers. */
  timeoutMs: number;
  /** Longest silence in the answer's body (a stream between chunks); default `timeoutMs`. */
  idleTimeoutMs?: number | undefined;
  /**
   * Connections to the service (`AI_PROXY_MAX_CONNECTIONS` for ai-proxy); 0 or absent = unbounded,
   * the pool grows with demand. When all are busy a request is answered 503 at once, never queued.
   */
  maxConnections?: number | undefined;
  /** Called for each request refused because every connection was busy (to count it). */
  onPoolFull?: (() => void) | undefined;
}

// The request body as it arrived (decoded from any content-encoding), by request.
const rawBodies = new WeakMap<Request, Buffer>();

/**
 * `verify` hook of `express.json`: keeps the bytes the parser read, so the forwarder sends them
 * as they are instead of re-serialising the parsed object (a JSON.stringify per request, and for
 * a large prompt the dearest step of the hop). The parse still validates (400, 413) at the edge.
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, buf: Buffer): void {
  rawBodies.set(req as Request, buf);
}

/**
 * Forwards a request to an internal service over a pooled keep-alive connection: adds the internal
 * token, the caller's identity and the W3C trace context (of a CLIENT span it records), and streams
 * the answer back as it arrives (SSE included, nothing buffered). A client that leaves aborts the
 * internal call.
 *
 * The pool is unbounded unless `maxConnections` is set. Then the requests in flight are counted
 * against it: with one request per connection (no pipelining) a request admitted below the bound
 * always finds a connection free or a new one allowed, so undici never queues it; the one that
 * finds them all busy is answered 503 `service_unavailable` with `Retry-After` at once.
 */
export class Forwarder {
  private readonly agent: Agent;
  private readonly origin: URL;
  private readonly port: number;
  private readonly maxConnections: number;
  private inFlight = 0;
  /** The streamed answers being relayed, each by how to end it in-band (see {@link endStreams}). */
  private readonly streams = new Set<(reason: HttpError) => void>();
  /** Set by {@link endStreams}: a stream that starts from now on is ended at once. */
  private endingWith: HttpError | undefined;

  constructor(private readonly options: ForwarderOptions) {
    this.origin = new URL(options.target);
    this.port = Number(this.origin.port) || (this.origin.protocol === 'https:' ? 443 : 80);
    this.maxConnections = options.maxConnections ?? 0;
    this.agent = new Agent({
      // null: undici's own default, a pool that opens a connection whenever none is free.
      connections: this.maxConnections > 0 ? this.maxConnections : null,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.idleTimeoutMs ?? options.timeoutMs,
      pipelining: 1,
    });
  }

  /** Requests forwarded and not yet answered in full (each holds one connection). */
  get activeRequests(): number {
    return this.inFlight;
  }

  /** Streamed (SSE) answers being relayed now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Ends every streamed answer being relayed, and any that starts from now on, with `reason` as an
   * in-band error event (the contract's error JSON, as ai-proxy's own end of a stream carries it),
   * then the answer's end; and abandons the call behind it, which ai-proxy counts as a client gone
   * (usage estimated where the upstream never said). The event goes at an event boundary: a stream
   * whose last relayed bytes end mid-event is ended right after the bytes that complete it.
   * Shutdown calls it shortly before the runtime cuts the connections still open.
   */
  endStreams(reason: HttpError): void {
    this.endingWith = reason;
    for (const end of this.streams) end(reason);
  }

  /**
   * `path` (default: the request's own) always goes to the configured origin: it is sent as the
   * request target, never resolved as a URL against it.
   */
  async forward(req: Request, res: Response, path = req.originalUrl): Promise<void> {
    if (this.maxConnections > 0 && this.inFlight >= this.maxConnections) {
      this.options.onPoolFull?.();
      throw new HttpError(
        503,
        'service_unavailable',
        `All ${this.maxConnections} connections to the ${this.options.name} service are busy; retry shortly`,
        {
          headers: { 'Retry-After': String(POOL_FULL_RETRY_AFTER_S) },
          details: { limit: 'proxy_connections', retry_after_s: POOL_FULL_RETRY_AFTER_S },
        },
      );
    }
    this.inFlight += 1;
    try {
      await this.relay(req, res, path);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async relay(req: Request, res: Response, path: string): Promise<void> {
    const headers: Record<string, string> = { 'x-request-id': req.id };
    for (const name of FORWARD_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    if (this.options.internalToken) headers[IDENTITY_HEADERS.internalToken] = this.options.internalToken;
    if (req.user) {
      headers[IDENTITY_HEADERS.userId] = req.user.id;
      headers[IDENTITY_HEADERS.userRole] = req.user.role;
    }
    let body: string | Buffer | undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.body !== undefined) {
      body = rawBodies.get(req) ?? JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
      // Nothing reads the body again: a stream open for minutes should not hold its prompt twice
      // (the bytes stay with the dispatch until they are sent).
      rawBodies.delete(req);
      req.body = undefined;
    }

    const span = tracer().startSpan(`${req.method}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': req.method,
        'server.address': this.origin.hostname,
        'server.port': this.port,
        'url.full': `${this.origin.origin}${path}`,
        'flashcase.peer.service': this.options.name,
      },
    });
    const spanContext = trace.setSpan(context.active(), span);
    propagation.inject(spanContext, headers);

    const name = this.options.name;
    const method = req.method;
    await new Promise<void>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let clientGone = false;
      let answered = false;
      let buffered: Buffer[] | undefined;
      let size = 0;
      let streaming = false;
      // A stream's in-band end (endStreams), which waits for the end of the event relayed last.
      let atEventBoundary = true;
      let endReason: HttpError | undefined;
      const endStream = (reason: HttpError) => {
        endReason = reason;
        if (!atEventBoundary || res.writableEnded) return;
        res.end(`data: ${JSON.stringify(errorBody(reason, req.id))}\n\n`);
        controller?.abort(new Error(`The ${name} stream was ended: ${reason.message}`));
      };
      const onClose = () => {
        if (res.writableEnded) return;
        clientGone = true;
        controller?.abort(new Error('client closed the connection'));
      };
      // One 'drain' listener at most: undici may hand over a few more chunks after pause().
      let waitingForDrain = false;
      const onDrain = () => {
        waitingForDrain = false;
        controller?.resume();
      };
      res.once('close', onClose);
      const finish = () => {
        this.streams.delete(endStream);
        res.off('close', onClose);
        res.off('drain', onDrain);
        span.end();
        resolve();
      };
      // NOTE: `dispatch` with this handler, not `agent.request()`: request() wraps each answer in a
      // Readable stream and a handler that outlive the call long enough to survive young-generation
      // collections (about 4 MB promoted per scavenge at one connection, 8-10 ms pauses). Here the
      // answer goes straight to the client: chunk by chunk with backpressure for streams, in one
      // write with its Content-Length for small answers of known length.
      this.agent.dispatch(
        { origin: this.origin.origin, path, method: method as Dispatcher.HttpMethod, headers, body },
        {
          onRequestStart(c) {
            controller = c;
            if (clientGone || res.destroyed) c.abort(new Error('client closed the connection'));
          },
          // An arrow function: `this` is the forwarder, whose streams shutdown ends.
          onResponseStart: (_c, statusCode, answerHeaders) => {
            answered = true;
            span.setAttribute('http.response.status_code', statusCode);
            if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
            for (const header in answerHeaders) {
              const value = answerHeaders[header];
              if (value === undefined || DROP_RESPONSE_HEADERS.has(header)) continue;
              res.setHeader(header, value);
            }
            res.status(statusCode);
            streaming = String(answerHeaders['content-type'] ?? '').startsWith('text/event-stream');
            // A stream's head goes out with its first event when that came in the same read (one
            // write, not two), else alone at the turn's end.
            if (streaming) {
              flushHeadAtTurnEnd(res);
              this.streams.add(endStream);
              if (this.endingWith) endStream(this.endingWith);
            }
            const length = Number(answerHeaders['content-length'] ?? Number.NaN);
            // A small answer of known length (every JSON answer) is relayed in one write with its
            // Content-Length; chunk by chunk it took chunked framing and a second write per request.
            if (!streaming && method !== 'HEAD' && length >= 0 && length <= MAX_BUFFERED_BODY) buffered = [];
          },
          onResponseData(c, chunk) {
            if (buffered) {
              buffered.push(chunk);
              size += chunk.length;
              return;
            }
            // Ended in-band (endStreams): nothing more goes to the client.
            if (res.writableEnded) return;
            const flowing = res.write(chunk);
            if (streaming) {
              atEventBoundary = endsEvent(chunk);
              // The event being relayed when the stream was ended is complete: now the end.
              if (endReason && atEventBoundary) {
                endStream(endReason);
                return;
              }
            }
            if (!flowing) {
              // The client reads slower than the service writes: stop reading the service's socket.
              c.pause();
              if (!waitingForDrain) {
                waitingForDrain = true;
                res.once('drain', onDrain);
              }
            }
          },
          onResponseEnd() {
            if (buffered) {
              res.setHeader('content-length', size);
              res.end(buffered.length === 1 ? buffered[0] : Buffer.concat(buffered, size));
            } else if (!res.writableEnded) {
              res.end();
            }
            finish();
          },
          onResponseError(_c, err) {
            span.recordException(err);
            span.setStatus({ code: SpanStatusCode.ERROR });
            if (answered) {
              // Headers are gone: cut the connection so the client sees an incomplete answer
              // (unless the answer was ended in-band: this is its abandoned call ending).
              if (!res.writableEnded) res.destroy();
              finish();
              return;
            }
            res.off('close', onClose);
            res.off('drain', onDrain);
            span.end();
            if (clientGone) return resolve();
            const timedOut = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
            reject(
              new HttpError(
                timedOut ? 504 : 502,
                timedOut ? 'upstream_timeout' : 'upstream_error',
                `The ${name} service is ${timedOut ? 'not answering in time' : 'unavailable'}`,
                { cause: err },
              ),
            );
          },
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Whether SSE bytes end an event: their last line ending (`\n`, `\r\n` or `\r`) closes an empty
 * line. A chunk of `\n` alone follows one that ended its line, which cannot be told from here; a
 * relay reads whole writes, and the services write whole events.
 */
export function endsEvent(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const last = bytes[n - 1];
  if (last === CR) return n >= 2 && (bytes[n - 2] === LF || bytes[n - 2] === CR);
  if (last !== LF) return false;
  const before = n >= 3 && bytes[n - 2] === CR ? n - 3 : n - 2;
  return before >= 0 && (bytes[before] === LF || bytes[before] === CR);
}
