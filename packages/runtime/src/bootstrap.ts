import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Config, ConfigError, loadConfig, type ServiceName } from '@flashcase/config';
import {
  createInstruments,
  getLogger,
  type Instruments,
  type Logger,
  setupLogging,
  startTelemetry,
  type Telemetry,
} from '@flashcase/telemetry';
import { listenShared } from './listen';
import {
  type AlertStoreHandle,
  type CountersStoreHandle,
  openAlertStateStore,
  openCountersStore,
  type StoreDeps,
} from './stores';
import { type MarginShare, streamEndDelayMs } from './stream-end';

/**
 * Requests Node's HTTP parser refuses before any middleware runs (malformed request lines, header
 * injection, headers over the size limit) still get the contract's JSON error, not an empty 400.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    error: {
      code: 'invalid_request',
      message: tooLarge ? 'Request headers are too large' : 'Malformed HTTP request',
      type: 'invalid_request_error',
      request_id: randomUUID(),
    },
  });
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** What a service's `run` gets: everything that is the same for all three services. */
export interface ServiceContext {
  config: Config;
  telemetry: Telemetry;
  log: Logger;
  instruments: Instruments;
  /**
   * The counters store from REDIS_URL / REDIS_CLUSTER_NODES, or the embedded one; opened once, and
   * resolved when its first connection is up (or after 2 s, degraded, when Redis is down).
   */
  openStore(): Promise<CountersStoreHandle>;
  /**
   * The alerting service's shared state store, from the same variables as {@link openStore};
   * opened once, closed on shutdown after the tasks registered after it was opened, and resolved when its first
   * connection is up (or after 2 s when Redis is down). Drives `flashcase.store.degraded`, so a
   * service opens one of the two stores, not both.
   */
  openAlertStore(): Promise<AlertStoreHandle>;
  /** Listens on HOST:PORT; SIGTERM/SIGINT then drain it (in-flight streams included) and stop. */
  listen(server: Server): Promise<AddressInfo>;
  /** Work to do on shutdown after the listener drained (close pools, flush buffers), in order. */
  onShutdown(task: () => Promise<void> | void): void;
  /**
   * Work to do once, shortly before SIGTERM's (or SIGINT's) grace runs out and every connection
   * still open is cut: end the streams still open in-band. When, {@link streamEndDelayMs} says
   * (`half` for a service in front of another that ends its own).
   */
  beforeCut(task: () => void, share?: MarginShare): void;
}

export interface ServiceModule {
  run(context: ServiceContext): Promise<void>;
}

/**
 * Starts a service the way production does (`node services/<name>/dist/main.js`): parses the
 * config (a bad value exits 1 with one line naming the variable), sets up logging, starts the
 * OpenTelemetry SDK, and only then calls `load()`, which must `require` the service's code, so the
 * instrumentation hooks see express, ioredis and http load.
 */
export function bootstrap(service: ServiceName, load: () => ServiceModule): void {
  let config: Config;
  try {
    config = loadConfig(service);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const serviceName = `flashcase-${service}`;
  setupLogging({
    environment: config.environment,
    logLevel: config.logLevel,
    serviceName,
    sampleRate: config.logSampleRate,
    logAIContent: config.logAIContent,
  });
  const telemetry = startTelemetry({
    serviceName,
    serviceVersion: config.version,
    environment: config.environment,
    metrics: { port: config.metricsPort, host: config.host },
  });
  const log = getLogger(service);
  const instruments = createInstruments();
  const shutdownTasks: Array<() => Promise<void> | void> = [];
  const cutTasks: Array<{ task: () => void; share: MarginShare }> = [];
  let opened: Promise<CountersStoreHandle> | undefined;
  let openedAlerts: Promise<AlertStoreHandle> | undefined;
  const storeDeps: StoreDeps = {
    service,
    config,
    log,
    instruments,
    onShutdown: (task) => shutdownTasks.push(task),
  };

  const context: ServiceContext = {
    config,
    telemetry,
    log,
    instruments,
    openStore() {
      opened ??= openCountersStore(storeDeps);
      return opened;
    },
    openAlertStore() {
      openedAlerts ??= openAlertStateStore(storeDeps);
      return openedAlerts;
    },
    async listen(server) {
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
        // A client that hung up (a reset keep-alive connection, a load balancer closing idle ones)
        // sent nothing wrong: nothing to answer, and no warning per connection.
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          socket.destroy();
          return;
        }
        log.warn(`Refused a malformed HTTP request (${err.code ?? err.message})`, { error_code: err.code });
        answerClientError(err, socket);
      });
      const listener = await listenShared(server, config.port, config.host);
      const { address } = listener;
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info(`${signal}: finishing in-flight requests (for up to ${config.shutdownGraceMs} ms), then stopping`);
        const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs).unref();
        const beforeCut = cutTasks.map(({ task, share }) =>
          setTimeout(
            () => {
              try {
                task();
              } catch (err) {
                log.warn('Shutdown task failed', { err });
              }
            },
            streamEndDelayMs(config.shutdownGraceMs, share),
          ).unref(),
        );
        // Keep-alive connections go idle as their last request ends: close each then, not after
        // keepAliveTimeout (65 s).
        const reaper = setInterval(() => server.closeIdleConnections(), 100).unref();
        const drained = listener.close();
        server.closeIdleConnections();
        await drained;
        clearInterval(reaper);
        clearTimeout(force);
        for (const timer of beforeCut) clearTimeout(timer);
        // Store last: the tasks before it may still write to it.
        for (const task of shutdownTasks.reverse()) {
          try {
            await task();
          } catch (err) {
            log.warn('Shutdown task failed', { err });
          }
        }
        await telemetry.shutdown();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      return address;
    },
    onShutdown(task) {
      shutdownTasks.push(task);
    },
    beforeCut(task, share = 'full') {
      cutTasks.push({ task, share });
    },
  };

  Promise.resolve()
    .then(() => load().run(context))
    .catch((err: unknown) => {
      log.error(`${service} failed to start: ${(err as Error)?.message ?? String(err)}`, { err });
      void telemetry.shutdown().finally(() => process.exit(1));
    });
}
