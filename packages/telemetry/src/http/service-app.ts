import type { Express } from 'express';
import type { Logger } from '../logging/logger';
import type { Instruments } from '../metrics/instruments';
import { requestId } from './request-id';
import { type RequestTelemetryOptions, requestTelemetry } from './request-telemetry';
import { serverSpans } from './server-span';

/** The health path every service answers; its probes are measured but not logged. */
export const HEALTH_PATH = '/api/v1/health';

export interface ServiceAppOptions {
  instruments: Instruments;
  logger: Logger;
  /** Called once per finished request (the gateway feeds its cluster-wide request stats). */
  onFinish?: RequestTelemetryOptions['onFinish'];
}

/**
 * An express app with what every FlashCase service does first: no `x-powered-by`, no ETags on
 * API answers, the simple query parser (no nested objects from `?a[b]=c`), the request's SERVER
 * span (everything after runs in its context), a request id, and
 * request telemetry (active requests, duration by route template, one request log with the
 * caller's id; health probes are not logged). Routes, auth and the error handler are the caller's.
 */
export function createServiceApp({ instruments, logger, onFinish }: ServiceAppOptions): Express {
  // NOTE: required here, not imported at the top: this package loads before the OpenTelemetry SDK
  // starts, and express must load after it for instrumentation-express to patch it.
  const express = require('express') as typeof import('express');
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(serverSpans());
  app.use(requestId());
  app.use(
    requestTelemetry({
      instruments,
      logger,
      userIdOf: (req) => req.user?.id,
      skipLog: (req) => req.path === HEALTH_PATH,
      ...(onFinish ? { onFinish } : {}),
    }),
  );
  return app;
}
