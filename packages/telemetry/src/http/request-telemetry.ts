import { context } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';
import { RequestLogger } from '../logging/request-logger';
import type { Instruments } from '../metrics/instruments';
import { requestRecorded } from './request-context';

export interface RequestTelemetryOptions {
  instruments: Instruments;
  logger: Logger;
  /** The user id for logs (never for metric labels); read when the response ends. */
  userIdOf?: (req: Request) => string | undefined;
  /** Requests that get no log line (health probes); they are still measured. */
  skipLog?: (req: Request) => boolean;
  /** Called once per finished request with its route template, status and duration. */
  onFinish?: (sample: { route: string; status: number; durationS: number }) => void;
}

/**
 * The route template a request matched (`/api/v1/ai/usage`), never the raw URL: metric labels stay
 * bounded however many distinct paths clients send.
 */
export function routeOf(req: Request): string {
  const path = req.route?.path;
  if (typeof path === 'string') return `${req.baseUrl}${path}`;
  return req.res?.locals.route ?? 'unmatched';
}

/**
 * Measures every request: `http.server.active_requests` while it runs, `http.server.request.duration`
 * (seconds; method, route template, status code) when it ends, and one RequestLogger record (none
 * for a successful request that wrote a record of its own, see `markRequestRecorded`). A request
 * whose client went away counts as it ended, with the status that was due.
 */
export function requestTelemetry({ instruments, logger, userIdOf, skipLog, onFinish }: RequestTelemetryOptions) {
  const requestLogger = new RequestLogger(logger, { oneCallsite: true });
  return function requestTelemetryMiddleware(req: Request, res: Response, next: NextFunction): void {
    const start = process.hrtime.bigint();
    const method = req.method;
    instruments.httpServerActiveRequests.add(1);
    let done = false;
    // Bound: 'close' (a client gone before the answer) can fire outside the request's context, and
    // the log line carries its trace.
    const finish = context.bind(context.active(), () => {
      if (done) return;
      done = true;
      instruments.httpServerActiveRequests.add(-1);
      const durationS = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      const status = res.headersSent || res.writableEnded ? res.statusCode : 499;
      instruments.httpServerDuration.record(durationS, {
        'http.request.method': method,
        'http.route': route,
        'http.response.status_code': status,
      });
      onFinish?.({ route, status, durationS });
      // One record a request: an AI call's usage record already is its record, unless it failed.
      if (!skipLog?.(req) && !(status < 400 && requestRecorded())) {
        requestLogger.logRequest({
          method,
          endpoint: route === 'unmatched' ? req.path : route,
          statusCode: status,
          durationMs: durationS * 1000,
          userId: userIdOf?.(req),
          requestId: req.id,
        });
      }
    });
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}
