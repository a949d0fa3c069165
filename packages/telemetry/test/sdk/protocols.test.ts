import { type AddressInfo, createServer, type Socket } from 'node:net';
import { OtlpGrpcReceiver, OtlpReceiver } from '@flashcase/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, SERVER, startTiny, type TinyService } from '../fixtures/tiny';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

/**
 * Each protocol of `OTEL_EXPORTER_OTLP_PROTOCOL`, with our pipeline and with the stock one, against
 * a receiver that decodes what it gets: the spans of a request (its SERVER span under the caller's
 * parent, the Redis span under it) and its log record carrying the trace id.
 */
const CASES: Array<{ protocol: string; stock: string; encoding: 'json' | 'protobuf' | 'grpc' }> = [
  { protocol: 'http/json', stock: '', encoding: 'json' },
  { protocol: 'http/json', stock: 'all', encoding: 'json' },
  { protocol: 'http/protobuf', stock: '', encoding: 'protobuf' },
  { protocol: '', stock: '', encoding: 'protobuf' },
  { protocol: 'grpc', stock: '', encoding: 'grpc' },
  { protocol: 'grpc', stock: 'http,logs', encoding: 'grpc' },
];

describe('OTLP export by protocol', () => {
  const started: Array<{ tiny: TinyService; receiver: OtlpReceiver }> = [];
  const prefix = `flashcase-test:telemetry-protocols:${process.pid}:`;

  const after: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const { tiny, receiver } of started) {
      if (tiny.child.exitCode === null) tiny.child.kill('SIGKILL');
      await receiver.stop();
    }
    for (const task of after) await task();
    await deleteKeys(prefix);
  });

  it.each(CASES)(
    'exports spans and correlated logs over $encoding (OTEL_EXPORTER_OTLP_PROTOCOL=$protocol, FLASHCASE_OTEL_STOCK=$stock)',
    async ({ protocol, stock, encoding }) => {
      const receiver = encoding === 'grpc' ? new OtlpGrpcReceiver() : new OtlpReceiver();
      const endpoint = await receiver.start();
      const env: NodeJS.ProcessEnv = {};
      if (protocol) env.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
      if (stock) env.FLASHCASE_OTEL_STOCK = stock;
      const tiny = await startTiny(endpoint, `${prefix}${encoding}:`, env);
      started.push({ tiny, receiver });

      const res = await fetch(`${tiny.base}/work/cards`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT}-01` } });
      expect(res.status).toBe(200);
      await receiver.waitFor(
        () =>
          receiver.spans.some((s) => s.traceId === TRACE_ID && s.kind === SERVER && s.name === 'GET /work/:item') &&
          receiver.spans.some((s) => s.traceId === TRACE_ID && s.name === 'incr') &&
          receiver.logs.some((l) => l.body === 'work done' && l.traceId === TRACE_ID),
        15_000,
      );

      const server = receiver.spans.find((s) => s.traceId === TRACE_ID && s.kind === SERVER);
      expect(server?.parentSpanId).toBe(PARENT);
      expect(server?.attributes['http.route']).toBe('/work/:item');
      expect(server?.attributes['http.response.status_code']).toBe(200);
      expect(server?.resource['service.name']).toBe('flashcase-tiny');
      const stockHttp = /all|http/.test(stock);
      expect(server?.scope).toBe(stockHttp ? '@opentelemetry/instrumentation-http' : '@flashcase/telemetry/http');
      const redis = receiver.spans.find((s) => s.traceId === TRACE_ID && s.name === 'incr');
      expect(redis?.parentSpanId).toBe(server?.spanId);
      const log = receiver.logs.find((l) => l.body === 'work done' && l.traceId === TRACE_ID);
      expect(log?.spanId).toBe(server?.spanId);
      expect(log?.resource['service.name']).toBe('flashcase-tiny');
      expect(log?.scope).toBe(/all|logs/.test(stock) ? '@opentelemetry/winston-transport' : '@flashcase/telemetry');
      expect(new Set(receiver.encodings)).toEqual(new Set([`traces:${encoding}`, `logs:${encoding}`]));
    },
  );

  it('sends the configured headers, gzip-compressed when asked', async () => {
    const receiver = new OtlpReceiver();
    const endpoint = await receiver.start();
    const tiny = await startTiny(endpoint, `${prefix}headers:`, {
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=flashcase,authorization=Bearer%20collector-token',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    started.push({ tiny, receiver });
    expect((await fetch(`${tiny.base}/work/headers`)).status).toBe(200);
    await receiver.waitFor(() => receiver.spans.some((s) => s.kind === SERVER) && receiver.logs.length > 0, 15_000);
    expect(receiver.headers.length).toBeGreaterThanOrEqual(2);
    for (const headers of receiver.headers) {
      expect(headers['x-tenant']).toBe('flashcase');
      expect(headers.authorization).toBe('Bearer collector-token');
      expect(headers['content-encoding']).toBe('gzip');
    }
  });

  it('keeps at most the queue size while the collector is away, and counts what it drops', async () => {
    // A collector that takes the connection and never answers: every export waits for its timeout.
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    after.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as AddressInfo;
    const tiny = await startTiny(`http://127.0.0.1:${port}`, `${prefix}queue:`, {
      OTEL_BSP_MAX_QUEUE_SIZE: '8',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8',
      OTEL_BSP_SCHEDULE_DELAY: '60000',
    });
    started.push({ tiny, receiver: new OtlpReceiver() });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${tiny.base}/work/q${i % 3}`)).status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const text = await (await fetch(tiny.metricsUrl)).text();
    const line = (name: string, filter = '') =>
      text.split('\n').find((l) => l.startsWith(name) && l.includes(filter)) ?? '';
    const value = (l: string) => Number(l.split(' ').pop());
    // Each request ends two spans (its SERVER span and the Redis call): of the 60, one batch of 8
    // waits on the silent collector, 8 more fill the queue, and the rest are dropped and counted.
    expect(value(line('otel_sdk_processor_span_queue_capacity'))).toBe(8);
    expect(value(line('otel_sdk_processor_span_queue_size'))).toBeLessThanOrEqual(8);
    expect(value(line('otel_sdk_processor_span_processed', 'error_type="queue_full"'))).toBe(60 - 8 - 8);
  });
});
