import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Child, startChild } from '../src/processes.ts';

let sink: { child: Child; value: string };

beforeAll(async () => {
  const logDir = mkdtempSync(join(tmpdir(), 'bench-sink-test-'));
  // Started as the bench starts it: its own process, its ready line on stdout.
  sink = await startChild({
    name: 'otlp-sink',
    args: [join(import.meta.dirname, '../src/otlp-sink.ts')],
    ready: /LISTENING (\S+)/,
    logDir,
  });
});

afterAll(() => sink?.child.stop());

const post = (path: string, contentType: string, body: Uint8Array | string) =>
  fetch(`${sink.value}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('OTLP sink', () => {
  it('answers an http/json export with 200 {}', async () => {
    const res = await post('/v1/traces', 'application/json', JSON.stringify({ resourceSpans: [] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('{}');
  });

  it('answers an http/protobuf export with 200, an empty body and the protobuf content type', async () => {
    const res = await post('/v1/logs', 'application/x-protobuf', new Uint8Array([0x0a, 0x02, 0x12, 0x00]));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('counts requests and bytes by path, whatever the encoding', async () => {
    const before = (await (await fetch(`${sink.value}/stats`)).json()) as Record<
      string,
      { requests: number; bytes: number }
    >;
    await post('/v1/metrics', 'application/x-protobuf; charset=binary', new Uint8Array(10));
    await post('/v1/metrics', 'application/json', '{"resourceMetrics":[]}');
    const after = (await (await fetch(`${sink.value}/stats`)).json()) as typeof before;
    const was = before['/v1/metrics'] ?? { requests: 0, bytes: 0 };
    expect(after['/v1/metrics']).toEqual({ requests: was.requests + 2, bytes: was.bytes + 10 + 22 });
  });
});
