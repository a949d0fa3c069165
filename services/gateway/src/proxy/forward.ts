import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, IDENTITY_HEADERS } from '@flashcase/telemetry';
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

export interface ForwarderOptions {
  /** Base URL of the internal service (`http://127.0.0.1:8001`). */
  target: string;
  /** Name for spans and errors (`ai-proxy`). */
  name: string;
  internalToken?: string | undefined;
  /** Longest wait for the answer's headers, and for each silence in its body. */
  timeoutMs: number;
  connections?: number;
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

function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Forwards a request to an internal service over a pooled keep-alive connection: adds the internal
 * token, the caller's identity and the W3C trace context (of a CLIENT span it records), and streams
 * the answer back as it arrives (SSE included, nothing buffered). A client that leaves aborts the
 * internal call.
 */
export class Forwarder {
  private readonly agent: Agent;
  private readonly origin: URL;
  private readonly port: number;

  constructor(private readonly options: ForwarderOptions) {
    this.origin = new URL(options.target);
    this.port = Number(this.origin.port) || (this.origin.protocol === 'https:' ? 443 : 80);
    this.agent = new Agent({
      connections: options.connections ?? 256,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      pipelining: 1,
    });
  }

  /**
   * `path` (default: the request's own) always goes to the configured origin: it is sent as the
   * request target, never resolved as a URL against it.
   */
  async forward(req: Request, res: Response, path = req.originalUrl): Promise<void> {
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

    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) controller.abort();
    };
    res.once('close', onClose);
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.agent.request({
        origin: this.origin.origin,
        path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body,
        signal: controller.signal,
      });
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      res.off('close', onClose);
      if (controller.signal.aborted) return;
      const timedOut = (err as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT';
      throw new HttpError(
        timedOut ? 504 : 502,
        timedOut ? 'upstream_timeout' : 'upstream_error',
        `The ${this.options.name} service is ${timedOut ? 'not answering in time' : 'unavailable'}`,
        { cause: err },
      );
    }

    span.setAttribute('http.response.status_code', upstream.statusCode);
    if (upstream.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined || DROP_RESPONSE_HEADERS.has(name)) continue;
      res.setHeader(name, value);
    }
    res.status(upstream.statusCode);
    const streaming = String(upstream.headers['content-type'] ?? '').startsWith('text/event-stream');
    if (streaming) res.flushHeaders();
    const length = Number(upstream.headers['content-length'] ?? Number.NaN);
    try {
      if (!streaming && req.method !== 'HEAD' && length >= 0 && length <= MAX_BUFFERED_BODY) {
        // A small answer of known length (every JSON answer): read it whole and send it in one write
        // with its Content-Length. Relayed chunk by chunk it took chunked framing and a second
        // write (the terminating chunk) per request.
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of upstream.body) {
          chunks.push(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        res.setHeader('content-length', size);
        res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
        return;
      }
      for await (const chunk of upstream.body) {
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
      res.end();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      // Headers are gone: cut the connection so the client sees an incomplete answer.
      res.destroy();
    } finally {
      res.off('close', onClose);
      span.end();
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
