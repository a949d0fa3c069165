import {
  type Attributes,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { withRequestSlot } from './request-context';
import { routeOf } from './request-telemetry';

/** The instrumentation scope of the server spans. */
export const SERVER_SPAN_SCOPE = '@flashcase/telemetry/http';

const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

/** `host`, `host:port`, `[v6]:port` of a Host header; the port defaults to the scheme's. */
function hostAndPort(host: string | undefined, secure: boolean): { address?: string; port: number } {
  const port = secure ? 443 : 80;
  if (!host) return { port };
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.lastIndexOf(':');
  if (colon > bracket && colon > 0) {
    const parsed = Number(host.slice(colon + 1));
    const address = host.slice(bracket >= 0 ? 1 : 0, bracket >= 0 ? bracket : colon);
    return { address, port: Number.isInteger(parsed) && parsed > 0 ? parsed : port };
  }
  return { address: bracket >= 0 ? host.slice(1, bracket) : host, port };
}

/** The first address of `X-Forwarded-For`, or the peer's. */
function clientAddress(req: Request): string | undefined {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return first || req.socket.remoteAddress;
}

/**
 * The SERVER span of every request, as the HTTP semantic conventions (stable) describe it: named
 * `{method} {http.route}` once the route is known, the W3C trace context of the caller as parent,
 * `http.request.method`, `url.scheme`, `url.path`, `server.address`/`server.port` (from Host),
 * `client.address`, `network.peer.*`, `network.protocol.version`, `user_agent.original`,
 * `http.response.status_code`, `http.route`; status ERROR (and `error.type`) for 5xx answers.
 * The query string is left out: it can carry what must not be stored.
 *
 * NOTE: why not `@opentelemetry/instrumentation-http`: measured on ai-proxy under load it was 30 %
 * of the service's CPU (42 % more throughput without it). Besides the span it rebinds every
 * listener of every request and response to the span's context (a wrapper and a map per listener)
 * and works out attributes we never read. Here the rest of the request runs inside the span's
 * context (`context.with`), which AsyncLocalStorage carries through promises, timers and
 * body-parser's AsyncResource; a listener that needs the context binds it itself.
 */
export function serverSpans() {
  const tracer = trace.getTracer(SERVER_SPAN_SCOPE);
  return function serverSpanMiddleware(req: Request, res: Response, next: NextFunction): void {
    const stock = stockServerSpan();
    if (stock) {
      // `@opentelemetry/instrumentation-http` made the span: it only needs the route.
      res.once('finish', () => nameByRoute(stock, req));
      context.with(withRequestSlot(context.active()), next);
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const original = req.method;
    const method = KNOWN_METHODS.has(original) ? original : '_OTHER';
    const socket = req.socket as Request['socket'] & { encrypted?: boolean };
    const secure = socket.encrypted === true;
    const url = req.originalUrl;
    const query = url.indexOf('?');
    const { address, port } = hostAndPort(req.headers.host, secure);
    const attributes: Attributes = {
      'http.request.method': method,
      'url.scheme': secure ? 'https' : 'http',
      'url.path': query >= 0 ? url.slice(0, query) : url,
      'server.port': port,
      'network.protocol.version': req.httpVersion,
    };
    if (method !== original) attributes['http.request.method_original'] = original;
    if (address) attributes['server.address'] = address;
    const client = clientAddress(req);
    if (client) attributes['client.address'] = client;
    if (socket.remoteAddress) attributes['network.peer.address'] = socket.remoteAddress;
    if (socket.remotePort) attributes['network.peer.port'] = socket.remotePort;
    const agent = req.headers['user-agent'];
    if (agent) attributes['user_agent.original'] = agent;

    const span = tracer.startSpan(method === '_OTHER' ? 'HTTP' : method, { kind: SpanKind.SERVER, attributes }, parent);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      finishSpan(span, req, res, method);
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(withRequestSlot(trace.setSpan(parent, span)), next);
  };
}

/** The scope of the SERVER spans `@opentelemetry/instrumentation-http` makes (`FLASHCASE_OTEL_STOCK=http`). */
const STOCK_HTTP_SCOPE = '@opentelemetry/instrumentation-http';

/** The active span when it is the stock instrumentation's SERVER span of this request. */
function stockServerSpan(): Span | undefined {
  const span = trace.getActiveSpan() as (Span & { instrumentationScope?: { name: string } }) | undefined;
  return span?.instrumentationScope?.name === STOCK_HTTP_SCOPE ? span : undefined;
}

function nameByRoute(span: Span, req: Request): void {
  const route = routeOf(req);
  if (route === 'unmatched') return;
  span.setAttribute('http.route', route);
  if (KNOWN_METHODS.has(req.method)) span.updateName(`${req.method} ${route}`);
}

function finishSpan(span: Span, req: Request, res: Response, method: string): void {
  const route = routeOf(req);
  if (route !== 'unmatched') {
    span.setAttribute('http.route', route);
    if (method !== '_OTHER') span.updateName(`${method} ${route}`);
  }
  if (res.headersSent) {
    const status = res.statusCode;
    span.setAttribute('http.response.status_code', status);
    // An error the error handler already described (with its code) keeps its message.
    const current = (span as unknown as { status?: { code: SpanStatusCode } }).status?.code;
    if (status >= 500 && current !== SpanStatusCode.ERROR) {
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (status >= 500) span.setAttribute('error.type', String(status));
  } else {
    // The client went away before an answer was started.
    span.setAttribute('error.type', 'request_aborted');
  }
  span.end();
}
