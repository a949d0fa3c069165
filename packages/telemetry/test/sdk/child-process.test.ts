import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { OtlpReceiver } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT, deleteKeys, SERVER, startTiny, type TinyService } from '../fixtures/tiny';

describe('a service started through the library as production starts it', () => {
  const receiver = new OtlpReceiver();
  const prefix = `flashcase-test:telemetry:${process.pid}:`;
  let child: ChildProcess;
  let base: string;
  let metricsUrl: string;
  let tiny: TinyService;

  beforeAll(async () => {
    tiny = await startTiny(await receiver.start(), prefix);
    ({ child, base, metricsUrl } = tiny);
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await receiver.stop();
    await deleteKeys(prefix);
  });

  it('exports one trace per request holding the HTTP and ioredis spans, and no express layer spans', async () => {
    const res = await fetch(`${base}/work/card-1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ count: 1 });

    await receiver.waitFor(() => receiver.spans.some((s) => s.scope?.includes('ioredis')));
    const server = receiver.spans.find((s) => s.kind === SERVER && s.scope === '@flashcase/telemetry/http');
    expect(server).toBeDefined();
    const trace = receiver.spans.filter((s) => s.traceId === server?.traceId);
    const scopes = new Set(trace.map((s) => s.scope));
    expect(scopes).toEqual(new Set(['@flashcase/telemetry/http', '@opentelemetry/instrumentation-ioredis']));
    const redisSpan = trace.find((s) => s.scope === '@opentelemetry/instrumentation-ioredis');
    expect(redisSpan?.kind).toBe(CLIENT);
    expect(redisSpan?.name).toBe('incr');
    // the Redis call hangs directly off the server span, which names the route template
    expect(redisSpan?.parentSpanId).toBe(server?.spanId);
    expect(server?.name).toBe('GET /work/:item');
    // every span of the request hangs off the server span's trace and the resource is ours
    expect(server?.resource).toMatchObject({
      'service.name': 'flashcase-tiny',
      'service.version': '1.2.3',
      'deployment.environment.name': 'test',
    });
  });

  it('sends log records over OTLP carrying the request trace, once each', async () => {
    await receiver.waitFor(() => receiver.logs.some((l) => l.body === 'work done'));
    const workLogs = receiver.logs.filter((l) => l.body === 'work done');
    expect(workLogs).toHaveLength(1);
    const server = receiver.spans.find((s) => s.kind === SERVER && s.scope === '@flashcase/telemetry/http');
    expect(workLogs[0]?.traceId).toBe(server?.traceId);
    expect(workLogs[0]?.attributes.logger).toBe('tiny.app');
    // and the same record went to stdout as one JSON line with the trace id
    const line = tiny
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.message === 'work done');
    expect(line).toMatchObject({ trace_id: server?.traceId, logger: 'tiny.app', count: 1, service: 'flashcase-tiny' });
  });

  it('serves the instruments on /metrics in Prometheus text, without unit suffixes', async () => {
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^http_server_request_duration_bucket\{.*http_route="\/work\/:item".*le="0\.005"/m);
    expect(text).toMatch(/^http_server_active_requests\{?.* 0$/m);
    expect(text).toMatch(/^flashcase_ai_tokens_total\{.*type="prompt".* 7$/m);
    expect(text).toMatch(/^gen_ai_client_token_usage_bucket\{.*le="4".* 0$/m);
    expect(text).toMatch(/^gen_ai_client_token_usage_bucket\{.*le="16".* 1$/m);
    expect(text).toMatch(/^flashcase_store_degraded\{?.* 0$/m);
    expect(text).toMatch(/^process_cpu_time_total\{.*cpu_mode="user"/m);
    expect(text).toMatch(/^process_memory_usage\{?.* \d+/m);
    // disk I/O from /proc; network I/O of the default route's interface, which has carried traffic
    expect(text).toMatch(/^process_disk_io_total\{.*disk_io_direction="read".*\} \d+/m);
    expect(text).toMatch(/^process_disk_io_total\{.*disk_io_direction="write".*\} \d+/m);
    const received =
      /^system_network_io_total\{(?=.*system_device=")(?=.*network_io_direction="receive").*\} (\d+)/m.exec(text);
    expect(Number(received?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/^system_network_io_total\{(?=.*network_io_direction="transmit").*\} \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_delay_p99/m);
    // scrapes themselves are not traced, nor are the OTLP exports (or each would export another)
    expect(receiver.spans.some((s) => String(s.attributes['url.path'] ?? '').includes('/metrics'))).toBe(false);
    expect(receiver.spans.some((s) => String(s.attributes['url.path'] ?? '').startsWith('/v1/'))).toBe(false);
    expect(receiver.spans.every((s) => s.kind !== CLIENT || s.scope.includes('ioredis'))).toBe(true);
  });

  it('flushes and exits cleanly on SIGTERM', async () => {
    await fetch(`${base}/work/card-2`);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    // the span of the last request was flushed on the way out
    const redisSpans = receiver.spans.filter((s) => s.scope === '@opentelemetry/instrumentation-ioredis');
    expect(redisSpans.length).toBeGreaterThanOrEqual(2);
  });
});

describe('log lines on stdout', () => {
  /** The fixture writing 5000 log lines and exiting 3 at once; `out()` is what its stdout gave so far. */
  const burstLogger = () => {
    const child = spawn(process.execPath, [join(__dirname, '../fixtures/burst-logger.cjs')], {
      env: { PATH: process.env.PATH, BURST: '5000', EXIT_CODE: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    return { child, out: () => out };
  };

  it('reach stdout in full when the process exits right after writing them', async () => {
    const { child, out } = burstLogger();
    // 'close': the process exited and its stdout was read to the end
    const [code] = await once(child, 'close');
    expect(code).toBe(3);
    const lines = out()
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines).toHaveLength(5000);
    const parsed = lines.map((l) => JSON.parse(l) as { i: number; logger: string });
    expect(parsed.map((l) => l.i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(parsed.every((l) => l.logger === 'burst')).toBe(true);
  });

  it('reach stdout in full when its reader is slow and the pipe fills before the process exits', async () => {
    const { child, out } = burstLogger();
    // The reader takes nothing for a while: the pipe's 64 KB fill long before the 5000 lines are out.
    child.stdout?.pause();
    setTimeout(() => child.stdout?.resume(), 500);
    const [code] = await once(child, 'close');
    expect(code).toBe(3);
    const lines = out()
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines).toHaveLength(5000);
    expect((JSON.parse(lines[4999] as string) as { i: number }).i).toBe(4999);
  });
});

describe('instrumentations chosen by OTEL_NODE_ENABLED_INSTRUMENTATIONS / _DISABLED_', () => {
  const receiver = new OtlpReceiver();
  const prefix = `flashcase-test:telemetry:${process.pid}:chosen:`;
  let tiny: TinyService;

  beforeAll(async () => {
    tiny = await startTiny(await receiver.start(), prefix, {
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'express, ioredis',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'ioredis,no-such-thing',
    });
  });

  afterAll(async () => {
    if (tiny.child.exitCode === null) tiny.child.kill('SIGKILL');
    await receiver.stop();
    await deleteKeys(prefix);
  });

  it('runs exactly the enabled ones not disabled: the express route-handler span on Express 5, no Redis spans', async () => {
    const res = await fetch(`${tiny.base}/work/card-9`);
    expect(res.status).toBe(200);
    await receiver.waitFor(() => receiver.spans.some((s) => s.scope === '@opentelemetry/instrumentation-express'));
    const server = receiver.spans.find((s) => s.kind === SERVER && s.scope === '@flashcase/telemetry/http');
    const trace = receiver.spans.filter((s) => s.traceId === server?.traceId);
    const handler = trace.find((s) => s.scope === '@opentelemetry/instrumentation-express');
    // with Express 5 the span is only named `request handler`; the route is an attribute
    expect(handler?.attributes['http.route']).toBe('/work/:item');
    expect(handler?.parentSpanId).toBe(server?.spanId);
    // one handler span, no middleware or router layers
    expect(trace.filter((s) => s.scope === '@opentelemetry/instrumentation-express')).toHaveLength(1);
    expect(receiver.spans.some((s) => s.scope.includes('ioredis'))).toBe(false);
    // runtime-node was not enabled: no event-loop metrics
    const text = await (await fetch(tiny.metricsUrl)).text();
    expect(text).toMatch(/^http_server_request_duration_bucket/m);
    expect(text).not.toMatch(/^nodejs_eventloop_delay/m);
    expect(tiny.output()).toMatch(/unknown instrumentation names ignored: no-such-thing/);
  });
});
