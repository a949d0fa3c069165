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

  afterAll(async () => {
    for (const { tiny, receiver } of started) {
      if (tiny.child.exitCode === null) tiny.child.kill('SIGKILL');
      await receiver.stop();
    }
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
});
