/**
 * A tiny OTLP/HTTP endpoint for the services under test: accepts every export (`/v1/traces`,
 * `/v1/logs`, `/v1/metrics`) in either encoding, reads the body and answers a full success in the
 * request's own encoding: 200 `{}` for http/json, 200 with an empty body and
 * `application/x-protobuf` for http/protobuf (an empty Export*ServiceResponse). It keeps counts of
 * requests and bytes by path, so the benchmark can prove telemetry was really shipped; `GET /stats`
 * answers them. No gRPC: the bench measures the HTTP exporters.
 *
 *   node bench/src/otlp-sink.ts
 *
 * Prints `LISTENING <url>` once bound on a free loopback port.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `application/x-protobuf`, with or without parameters, in any case. */
const isProtobuf = (contentType: string | undefined) =>
  contentType?.split(';')[0]?.trim().toLowerCase() === 'application/x-protobuf';

const counts: Record<string, { requests: number; bytes: number }> = {};

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    return;
  }
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const path = req.url ?? '/';
    counts[path] ??= { requests: 0, bytes: 0 };
    const entry = counts[path];
    entry.requests++;
    entry.bytes += bytes;
    if (isProtobuf(req.headers['content-type'])) {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
