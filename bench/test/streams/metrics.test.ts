import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLoopDelayP99Ms, sampleValue } from '../../src/streams/metrics.ts';

// As our services' Prometheus exporter writes runtime-node's gauges.
const EXPOSITION = `# HELP nodejs_eventloop_delay_p90 Event loop 90 percentile delay.
# TYPE nodejs_eventloop_delay_p90 gauge
nodejs_eventloop_delay_p90{otel_scope_name="@opentelemetry/instrumentation-runtime-node",otel_scope_version="0.37.0"} 0.0102
# HELP nodejs_eventloop_delay_p99 Event loop 99 percentile delay.
# TYPE nodejs_eventloop_delay_p99 gauge
nodejs_eventloop_delay_p99{otel_scope_name="@opentelemetry/instrumentation-runtime-node",otel_scope_version="0.37.0"} 0.0125
`;

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url === '/metrics' ? EXPOSITION : '# nothing yet\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('event-loop delay from /metrics', () => {
  it('reads a sample by its exact name, labelled or not, not one whose name it only starts', () => {
    expect(sampleValue(EXPOSITION, 'nodejs_eventloop_delay_p99')).toBe(0.0125);
    expect(sampleValue('up 1\nup_time 5\n', 'up')).toBe(1);
    expect(sampleValue('up_time 5\n', 'up')).toBeUndefined();
  });

  it('scrapes a service and answers the p99 in ms, undefined when it has none or is down', async () => {
    expect(await eventLoopDelayP99Ms(`${base}/metrics`)).toBeCloseTo(12.5, 6);
    expect(await eventLoopDelayP99Ms(`${base}/empty`)).toBeUndefined();
    expect(await eventLoopDelayP99Ms('http://127.0.0.1:1/metrics')).toBeUndefined();
  });
});
