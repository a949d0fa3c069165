import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { Logger } from '../logging/logger';

/**
 * Routes the SDK's own diagnostics (export failures, dropped spans) into our logger at warn and
 * above, and writes each distinct message at most once per `repeatAfterMs`: a collector that is down
 * costs one warning a minute, not one per export attempt.
 */
export function installDiagLogger(logger: Logger, repeatAfterMs = 60_000): void {
  const lastSeen = new Map<string, number>();
  const write =
    (level: 'error' | 'warn') =>
    (message: string, ...args: unknown[]) => {
      const now = Date.now();
      const last = lastSeen.get(message);
      if (last !== undefined && now - last < repeatAfterMs) return;
      if (lastSeen.size > 1000) lastSeen.clear();
      lastSeen.set(message, now);
      const detail = args
        .map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : ''))
        .join(' ');
      logger.log(level, `OpenTelemetry: ${message}${detail ? ` ${detail}` : ''}`.trim());
    };
  const ignore = () => {};
  const diagLogger: DiagLogger = {
    error: write('error'),
    warn: write('warn'),
    info: ignore,
    debug: ignore,
    verbose: ignore,
  };
  diag.setLogger(diagLogger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}
