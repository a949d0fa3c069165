import { createServer, type Server } from 'node:http';
import { createRedisClient, RedisStore } from '@flashcase/store';
import { deleteKeys } from '@flashcase/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileReport } from '../../src/reconcile/run';
import { REDIS_URL, runCli } from '../helpers/stack';
import { storeRecord, usageLine } from '../helpers/usage-records';

/** One stored Loki entry: its stream labels, time (ns), line and structured metadata. */
interface Entry {
  labels: Record<string, string>;
  ts: bigint;
  line: string;
  metadata: Record<string, string>;
}

const SELECTOR = '{record_type="ai_usage"}';

/**
 * A stand-in for Loki's `GET /loki/api/v1/query_range` (log queries), as its HTTP API documents
 * it: `start` inclusive and `end` exclusive (nanosecond epochs), `limit` entries (default 100)
 * across all streams, `direction` forward (oldest first) or backward (the default); the answer is
 * `{"status":"success","data":{"resultType":"streams","result":[{"stream":{...},"values":[[ns,
 * line], ...]}]}}`. Structured metadata is merged into the stream labels unless the request asks
 * for categorized labels (`X-Loki-Response-Encoding-Flags: categorize-labels`): then each value
 * carries it as a third element and `data.encodingFlags` says so. Only the selector the tool uses
 * by default is understood.
 */
function lokiStandIn(entries: readonly Entry[], { categorize }: { categorize: boolean }) {
  const requests: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://loki');
    if (url.pathname !== '/loki/api/v1/query_range') {
      res.writeHead(404).end('404 page not found');
      return;
    }
    const params = url.searchParams;
    requests.push(params);
    if (params.get('query') !== SELECTOR) {
      res.writeHead(400).end('parse error');
      return;
    }
    const start = BigInt(params.get('start') ?? '0');
    const end = BigInt(params.get('end') ?? '0');
    const limit = Number(params.get('limit') ?? '100');
    const forward = params.get('direction') === 'forward';
    const flags = String(req.headers['x-loki-response-encoding-flags'] ?? '').split(',');
    const split = categorize && flags.includes('categorize-labels');
    const picked = entries
      .filter((e) => e.ts >= start && e.ts < end)
      .sort((a, b) => (a.ts === b.ts ? 0 : a.ts < b.ts === forward ? -1 : 1))
      .slice(0, limit);
    const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
    for (const e of picked) {
      const stream = split ? e.labels : { ...e.labels, ...e.metadata };
      const key = JSON.stringify(Object.entries(stream).sort());
      const group = streams.get(key) ?? { stream, values: [] };
      group.values.push(split ? [String(e.ts), e.line, { structuredMetadata: e.metadata }] : [String(e.ts), e.line]);
      streams.set(key, group);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: 'success',
        data: {
          resultType: 'streams',
          result: [...streams.values()],
          stats: {},
          ...(split ? { encodingFlags: ['categorize-labels'] } : {}),
        },
      }),
    );
  });
  return {
    requests,
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const DAY_START = Date.parse('2026-03-02T00:00:00.000Z');
const NS = 1_000_000n;

/**
 * 30 calls over two days, as Loki would hold them: even ones from the collector's OTLP export
 * (the message as the line, the record's attributes as structured metadata, strings), odd ones
 * shipped as JSON lines. Groups of three share one nanosecond, so pages of 4 end inside them.
 */
function trail(): { entries: Entry[]; records: Record<string, unknown>[] } {
  const entries: Entry[] = [];
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    const ms = DAY_START + Math.floor(i / 3) * 5 * 3_600_000;
    const record = usageLine({
      timestamp: new Date(ms).toISOString(),
      seq: i + 1,
      user_id: `user-${i % 4}`,
      model: i % 3 === 0 ? 'grok-4' : 'grok-4-fast',
      operation: ['chat', 'rewrite', 'autocomplete'][i % 3],
      prompt_tokens: 10 + i,
      completion_tokens: 5 + i,
      reasoning_tokens: i % 5,
      cached_prompt_tokens: i % 7,
      cost_usd_ticks: 1_000_003 * (i + 1),
      ...(i % 6 === 0 ? { cost_source: 'billed', priced_usd_ticks: 999_999 * (i + 1) } : {}),
    });
    records.push(record);
    const ts = BigInt(ms) * NS + 123_456n;
    if (i % 2 === 0) {
      const { message, timestamp: _t, ...attributes } = record;
      const metadata = Object.fromEntries(
        Object.entries(attributes)
          .filter(([k]) => k !== 'record_type' && k !== 'service')
          .map(([k, v]) => [k, String(v)]),
      );
      entries.push({
        labels: { record_type: 'ai_usage', service_name: 'flashcase-ai-proxy' },
        ts,
        line: String(message),
        metadata,
      });
    } else {
      entries.push({
        labels: { record_type: 'ai_usage', service_name: 'flashcase-ai-proxy', shipped: 'lines' },
        ts,
        line: JSON.stringify(record),
        metadata: {},
      });
    }
  }
  return { entries, records };
}

describe("pnpm reconcile --loki against Loki's query_range API", () => {
  const prefix = `flashcase-test:reconcile-loki:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  const { entries, records } = trail();

  beforeAll(async () => {
    const client = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 5000 });
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    const store = new RedisStore(client, { keyPrefix: prefix });
    for (const record of records) await store.recordUsage(storeRecord(record));
    await store.close();
  });
  afterAll(() => deleteKeys(REDIS_URL, prefix));

  const period = ['--from', '2026-03-01T22:00:00Z', '--to', '2026-03-04T00:00:00Z'];

  for (const categorize of [true, false]) {
    it(`reads every entry once, page by page, with structured metadata ${categorize ? 'categorized' : 'in the stream labels'}`, async () => {
      const loki = lokiStandIn(entries, { categorize });
      const url = await loki.listen();
      try {
        const args = ['--loki', url, ...period, '--page-size', '4', '--redis', REDIS_URL, '--prefix', prefix, '--json'];
        const run = await runCli('reconcile', args);
        expect(run.stderr).toBe('');
        const report = JSON.parse(run.stdout) as ReconcileReport;
        expect(report.differences).toEqual([]);
        expect(run.code).toBe(0);
        expect(report.lines).toEqual({ read: 30, usage: 30, other: 0, outside_period: 0, malformed: 0 });
        expect(report.trail).toMatchObject({ calls: 30, duplicates: 0, users: 4, sequence_gaps: {} });
        expect(report.trail.totals.costTicks).toBe(records.reduce((n, r) => n + Number(r.cost_usd_ticks), 0));

        for (const params of loki.requests) {
          expect(params.get('direction')).toBe('forward');
          expect(params.get('limit')).toBe('4');
          expect(BigInt(params.get('end') ?? '0') - BigInt(params.get('start') ?? '0')).toBeLessThanOrEqual(
            86_400_000n * NS,
          );
        }
        // pages: the next one starts at the last nanosecond of the one before (start is inclusive)
        const firstWindowEnd = BigInt(Date.parse(period[3] as string) - 26 * 3_600_000) * NS;
        const firstWindow = loki.requests.filter((p) => BigInt(p.get('start') ?? '0') < firstWindowEnd);
        expect(firstWindow.length).toBeGreaterThan(3);
        expect(loki.requests[1]?.get('start')).toBe(String(BigInt(DAY_START) * NS + 5n * 3_600_000n * NS + 123_456n));
      } finally {
        await loki.close();
      }
    });
  }

  it('reports a Loki entry it cannot count and the difference it leaves', async () => {
    const broken = entries.map((e, i) => (i === 4 ? { ...e, metadata: { ...e.metadata, prompt_tokens: 'many' } } : e));
    const loki = lokiStandIn(broken, { categorize: true });
    const url = await loki.listen();
    try {
      const run = await runCli('reconcile', [
        '--loki',
        url,
        ...period,
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
        '--json',
      ]);
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as ReconcileReport;
      // the 4th entry read: Loki answers per stream, and of one nanosecond the OTLP stream's come first
      expect(report.malformed).toEqual([{ line: 4, reason: 'prompt_tokens is not a non-negative integer: "many"' }]);
      expect(report.differences).toContainEqual({
        scope: 'total',
        counter: 'requests',
        trail: 29,
        store: 30,
        inFlight: false,
      });
    } finally {
      await loki.close();
    }
  });

  it('exits 3 when Loki refuses the query', async () => {
    const loki = lokiStandIn(entries, { categorize: true });
    const url = await loki.listen();
    try {
      const run = await runCli('reconcile', [
        '--loki',
        url,
        '--query',
        '{job="x"}',
        '--redis',
        REDIS_URL,
        '--prefix',
        prefix,
      ]);
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('Loki answered 400');
    } finally {
      await loki.close();
    }
  });
});
