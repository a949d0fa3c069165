import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';
import { errorBody, HttpError } from './http-error';
import { sendJson } from './send-json';

/** What body-parser (express.json) attaches to the errors it throws. */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  // The store's StoreUnavailableError (matched by its code: this package must not load the store,
  // which requires ioredis, before the OpenTelemetry SDK starts).
  if ((err as { code?: unknown } | undefined)?.code === 'store_unavailable') {
    return new HttpError(503, 'store_unavailable', 'The shared store is unreachable; retry shortly', {
      cause: err,
      headers: { 'Retry-After': '5' },
    });
  }
  const parserError = err as BodyParserError | undefined;
  switch (parserError?.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'invalid_request', 'Request body is not valid JSON', { cause: err });
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', `Request body exceeds ${parserError.limit ?? 1048576} bytes`, {
        cause: err,
      });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(400, 'invalid_request', 'Unsupported body encoding or charset', { cause: err });
    case 'request.aborted':
      return new HttpError(400, 'invalid_request', 'Request body was aborted', { cause: err });
    default:
      break;
  }
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new HttpError(400, 'invalid_request', 'Malformed request', { cause: err });
  }
  return new HttpError(500, 'internal_error', 'Internal server error', { cause: err });
}

/** Answers every unmatched route with the contract's 404. */
export function notFound() {
  return function notFoundMiddleware(req: Request, _res: Response, next: NextFunction): void {
    next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
  };
}

export interface ErrorHandlerOptions {
  logger: Logger;
}

/**
 * Turns anything thrown into the contract's JSON error. HttpErrors keep their status, code,
 * headers and details; body-parser errors become 400/413; everything else is a 500 whose message
 * says nothing about internals (no stack traces to clients). 5xx are logged with the error and
 * recorded on the active span.
 */
export function errorHandler({ logger }: ErrorHandlerOptions) {
  return function errorHandlerMiddleware(err: unknown, req: Request, res: Response, _next: NextFunction): void {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) {
      const span = trace.getActiveSpan();
      const cause = httpError.cause ?? httpError;
      span?.recordException(cause instanceof Error ? cause : String(cause));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: httpError.code });
      logger.error(`${req.method} ${req.path} failed: ${httpError.code}`, { err: cause, request_id: req.id });
    }
    if (res.headersSent) {
      // Too late for a JSON error (a stream already started): end what we have.
      if (!res.writableEnded) res.end();
      return;
    }
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    sendJson(res, errorBody(httpError, req.id), httpError.status);
  };
}
