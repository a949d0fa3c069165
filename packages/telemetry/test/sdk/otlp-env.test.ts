import { describe, expect, it } from 'vitest';
import { stockParts } from '../../src/sdk/instrumentations';
import { batchOptions, otlpExportTarget, otlpProtocol, parseOtlpHeaders } from '../../src/sdk/otlp-env';

describe('OTLP settings from the environment', () => {
  it('defaults to http/protobuf, takes the signal-specific protocol over the generic one', () => {
    expect(otlpProtocol({}, 'traces')).toBe('http/protobuf');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'logs')).toBe('grpc');
    const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' };
    expect(otlpProtocol(env, 'traces')).toBe('http/json');
    expect(otlpProtocol(env, 'logs')).toBe('grpc');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' }, 'traces')).toBe('http/protobuf');
  });

  it('resolves endpoints as the spec says: /v1/<signal> appended to the generic one over HTTP only', () => {
    const generic = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' };
    expect(otlpExportTarget(generic, 'traces')?.url).toBe('http://collector:4318/v1/traces');
    expect(otlpExportTarget(generic, 'logs')?.url).toBe('http://collector:4318/v1/logs');
    const specific = { ...generic, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example/ingest' };
    expect(otlpExportTarget(specific, 'logs')?.url).toBe('https://logs.example/ingest');
    const grpc = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    expect(otlpExportTarget(grpc, 'traces')).toMatchObject({ protocol: 'grpc', url: 'http://collector:4317' });
    expect(otlpExportTarget({}, 'traces')).toBeUndefined();
    expect(otlpExportTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'traces')).toBeUndefined();
    expect(otlpExportTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' }, 'traces')).toBeUndefined();
  });

  it('reads headers, timeout and compression per signal, falling back to the generic variables', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=flashcase',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20abc',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'gzip',
    };
    expect(otlpExportTarget(env, 'traces')).toMatchObject({
      headers: { authorization: 'Bearer abc' },
      timeoutMillis: 2500,
      gzip: false,
    });
    expect(otlpExportTarget(env, 'logs')).toMatchObject({ headers: { 'x-tenant': 'flashcase' }, gzip: true });
    expect(otlpExportTarget({ ...env, OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }, 'logs')?.timeoutMillis).toBe(10_000);
  });

  it('skips malformed header pairs', () => {
    expect(parseOtlpHeaders('a=1,broken,=x,b=%E0%A4%A,c = 3 ')).toEqual({ a: '1', c: '3' });
    expect(parseOtlpHeaders(undefined)).toEqual({});
  });

  it('passes on only valid batch settings, so the SDK defaults apply to the rest', () => {
    expect(batchOptions({ OTEL_BSP_MAX_QUEUE_SIZE: '64', OTEL_BSP_SCHEDULE_DELAY: '-1' }, 'OTEL_BSP')).toEqual({
      maxQueueSize: 64,
    });
    expect(
      batchOptions(
        { OTEL_BLRP_EXPORT_TIMEOUT: '3000', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '16', OTEL_BSP_MAX_QUEUE_SIZE: '1' },
        'OTEL_BLRP',
      ),
    ).toEqual({ exportTimeoutMillis: 3000, maxExportBatchSize: 16 });
  });
});

describe('FLASHCASE_OTEL_STOCK', () => {
  it('hands back the parts it names, and says which names it does not know', () => {
    const warnings: string[] = [];
    const log = { warn: (message: string) => warnings.push(message) };
    expect(stockParts({}, log)).toEqual({ http: false, logs: false });
    expect(stockParts({ FLASHCASE_OTEL_STOCK: 'logs' }, log)).toEqual({ http: false, logs: true });
    expect(stockParts({ FLASHCASE_OTEL_STOCK: 'all' }, log)).toEqual({ http: true, logs: true });
    expect(warnings).toEqual([]);
    expect(stockParts({ FLASHCASE_OTEL_STOCK: 'http, export' }, log)).toEqual({ http: true, logs: false });
    expect(warnings).toEqual(['FLASHCASE_OTEL_STOCK: unknown parts ignored: export (known: http, logs, all)']);
  });
});
