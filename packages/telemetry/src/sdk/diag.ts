import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { Logger } from '../logging/logger';

/**
 * The SDK's global error handler reports an export failure as the error serialised to JSON; keep
 * its message only (`connect ECONNREFUSED 127.0.0.1:4318`), not the stack.
 */
function readable(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown; code?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON after all
  }
  return message;
}

/**
 * Routes the SDK's own diagnostics (export failures, dropped spans) into our logger as warnings,
 * and writes each distinct message at most once per `repeatAfterMs`: a collector that is down costs
 * one warning a minute, not one per export attempt (and never one per request: telemetry problems
 * degrade telemetry, not the service).
 */
export function installDiagLogger(logger: Logger, repeatAfterMs = 60_000): void {
  const lastSeen = new Map<string, number>();
  const write = (message: string, ...args: unknown[]) => {
    const text = readable(message);
    const now = Date.now();
    const last = lastSeen.get(text);
    if (last !== undefined && now - last < repeatAfterMs) return;
    if (lastSeen.size > 1000) lastSeen.clear();
    lastSeen.set(text, now);
    const detail = args
      .map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : ''))
      .join(' ');
    logger.warn(`OpenTelemetry: ${text}${detail ? ` ${detail}` : ''}`.trim(), { telemetry_problem: true });
  };
  const ignore = () => {};
  const diagLogger: DiagLogger = { error: write, warn: write, info: ignore, debug: ignore, verbose: ignore };
  diag.setLogger(diagLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}
