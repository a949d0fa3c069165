import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler, getLogger, notFound, requestId, setupLogging } from '@flashcase/telemetry';
import { LineCapture } from '@flashcase/testkit';
import express, { type Express, type Router } from 'express';
import { Forwarder } from '../../src/proxy/forward';

/** A request an internal service received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A stand-in internal service on loopback (ai-proxy, alerting or the backend): it answers 200 with
 * `{ service }` and records what reached it.
 */
export interface InternalService {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startInternalService(service: string): Promise<InternalService> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service }));
    });
  });
  await listening(server);
  return {
    url: baseOf(server),
    seen,
    close: () => closed(server),
  };
}

/** A real Forwarder to `target`, with the internal token of the tests. */
export function forwarderTo(target: string, name: string): Forwarder {
  return new Forwarder({ target, name, internalToken: 'internal-test-token', timeoutMs: 2_000 });
}

/**
 * Serves the routers and middleware given, in order, on loopback between a request id and the
 * contract's 404 and error JSON, the way createApp frames its routes.
 */
export async function serve(...routers: Array<Router | express.RequestHandler>): Promise<{
  base: string;
  close(): Promise<void>;
}> {
  setupLogging({ environment: 'test', stream: new LineCapture(), otlp: false });
  const app: Express = express();
  app.use(requestId());
  for (const router of routers) app.use(router);
  app.use(notFound());
  app.use(errorHandler({ logger: getLogger('gateway.test') }));
  const server = createServer(app);
  await listening(server);
  return { base: baseOf(server), close: () => closed(server) };
}

function listening(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function baseOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Routes under test in front of a stand-in internal service, through a real Forwarder. */
export interface ForwardingFixture {
  /** The stand-in service and what reached it. */
  service: InternalService;
  /** The front's base URL. */
  base: string;
  close(): Promise<void>;
}

/**
 * Starts a stand-in `name` service and serves what `mount` builds around a Forwarder to it (the
 * routers under test, with any middleware in front): the set-up of every forwarding route's test.
 */
export async function serveForwarding(
  name: string,
  mount: (forwarder: Forwarder) => Array<Router | express.RequestHandler>,
): Promise<ForwardingFixture> {
  const service = await startInternalService(name);
  const forwarder = forwarderTo(service.url, name);
  const front = await serve(...mount(forwarder));
  return {
    service,
    base: front.base,
    async close() {
      await front.close();
      await forwarder.close();
      await service.close();
    },
  };
}
