export {
  type HealthOptions,
  healthHandler,
  type MemoryCheck,
  memoryCheck,
  memoryLimitBytes,
  type StoreState,
} from './health/health';
export { type ErrorHandlerOptions, errorHandler, notFound } from './http/error-handler';
export {
  type ErrorCode,
  errorBody,
  HttpError,
  type HttpErrorOptions,
  type OpenAIErrorType,
  openAIErrorType,
} from './http/http-error';
export {
  IDENTITY_HEADERS,
  type Identity,
  type InternalAuthOptions,
  internalAuth,
  isUserId,
  type Role,
  requireUser,
} from './http/identity';
export { currentRequestId } from './http/request-context';
export { type RequestIdOptions, requestId } from './http/request-id';
export { type RequestTelemetryOptions, requestTelemetry, routeOf } from './http/request-telemetry';
export { JSON_CONTENT_TYPE, sendJson, sendJsonText } from './http/send-json';
export { SERVER_SPAN_SCOPE, serverSpans } from './http/server-span';
export { createServiceApp, HEALTH_PATH, type ServiceAppOptions } from './http/service-app';
export { flushHeadAtTurnEnd } from './http/stream-head';
export { AILogger, type AILoggerOptions, type AIRequestLogFields, PROCESS_REPLICA_ID } from './logging/ai-logger';
export {
  type Environment,
  getLogger,
  keepRoutineLog,
  LOG_LEVELS,
  type Logger,
  type LoggingOptions,
  type LogLevel,
  setupLogging,
} from './logging/logger';
export { isSecretKey, REDACTED, type RedactOptions, redact, redactString } from './logging/redact';
export { type RequestLogFields, RequestLogger } from './logging/request-logger';
export {
  createInstruments,
  type GaugeSource,
  GENAI_DURATION_BUCKETS_S,
  GENAI_TOKEN_BUCKETS,
  HTTP_DURATION_BUCKETS_S,
  type Instruments,
  METER_NAME,
} from './metrics/instruments';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './sdk/start';
