import { setTimeout as sleep } from 'node:timers/promises';
import {
  deleteKeys,
  type FakeProcess,
  RATE_LIMITS_OFF,
  type ServiceProcess,
  startFakeProcess,
  startService,
} from '@flashcase/testkit';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, eventually, INTERNAL_TOKEN, JWT_SECRET, token, usageTotals } from './helpers/chain';

// SIGTERM to an ai-proxy holding 1 000 streams that cannot finish within its grace: each client
// gets the contract's error event in-band and then the end of its stream, ai-proxy exits 0 in
// time, and the store holds one usage record per stream (estimated: the upstream never sent usage).
//
// The streams go through the gateway, as users' do: the in-band event must survive the relay, and
// a stream cut instead of ended shows there as a destroyed connection. The whole chain holds 1 000
// streams on this machine (`streams-at-scale` holds 500 with more going on), so going to ai-proxy
// directly would only test less. The upstream runs as its own process (the fake's CLI) to keep its
// writes off the CPU of this runner, which reads the 1 000 clients.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const STREAMS = 1000;
/** ai-proxy's SHUTDOWN_GRACE_MS: its streams still open are ended at 4.8 s (a fifth left as margin). */
const GRACE_MS = 6000;
/** What ai-proxy may take past the grace to flush its counters and telemetry and exit. */
const EXIT_MARGIN_MS = 4000;
/** The upstream's pace: 120 content chunks a second apart, two minutes a stream, far past the grace. */
const UPSTREAM_FLAGS = ['--api-key', API_KEY, '--chunk-delay-ms', '1000', '--reply-tokens', '120'];

/** The contract's error JSON (section 6), as the in-band event carries it. */
interface ErrorEvent {
  code?: unknown;
  message?: unknown;
  type?: unknown;
  request_id?: unknown;
  retry_after_s?: unknown;
}

/** One client's view of its stream, updated as its events arrive. */
interface Client {
  status?: number;
  /** `{"delta"}` events so far. */
  deltas: number;
  /** `deltas` when SIGTERM was sent. */
  deltasAtSigterm: number;
  error?: ErrorEvent;
  /** Events of any kind after the error event (there should be none). */
  afterError: number;
  /** The final usage event or `[DONE]` came: the stream completed (it cannot, in the grace). */
  completed: boolean;
  /** `clean`: the body ended; `cut`: reading it failed (a destroyed connection). */
  ended?: 'clean' | 'cut';
  finished: Promise<void>;
  abort(): void;
}

function onEvent(client: Client, data: string): void {
  if (client.error !== undefined) client.afterError += 1;
  if (data === '[DONE]') {
    client.completed = true;
    return;
  }
  const event = JSON.parse(data) as { delta?: string; done?: boolean; error?: ErrorEvent };
  if (event.error !== undefined) client.error ??= event.error;
  else if (event.done) client.completed = true;
  else if (event.delta !== undefined) client.deltas += 1;
}

/** A streaming chat through the gateway, read event by event until its body ends. */
function openStream(base: string, userId: string): Client {
  const controller = new AbortController();
  const client: Client = {
    deltas: 0,
    deltasAtSigterm: 0,
    afterError: 0,
    completed: false,
    finished: Promise.resolve(),
    abort: () => controller.abort(),
  };
  client.finished = (async () => {
    try {
      const res = await fetch(`${base}/api/v1/ai/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token(userId)}` },
        body: JSON.stringify({ messages: [{ role: 'user', content: `a long essay for ${userId}` }], stream: true }),
        signal: controller.signal,
      });
      client.status = res.status;
      const decoder = new TextDecoder();
      let pending = '';
      for await (const bytes of res.body as ReadableStream<Uint8Array>) {
        pending += decoder.decode(bytes, { stream: true });
        let end = pending.indexOf('\n\n');
        while (end >= 0) {
          const frame = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (frame.startsWith('data: ')) onEvent(client, frame.slice('data: '.length));
          end = pending.indexOf('\n\n');
        }
      }
      client.ended = 'clean';
    } catch {
      client.ended = 'cut';
    }
  })();
  return client;
}

/** ai-proxy's AI usage records (JSON log lines with `record_type: ai_usage`) in its output. */
function usageRecords(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.record_type === 'ai_usage');
}

/** What every service of these tests runs with: its own key prefix, info logs (the usage records), no rate limits. */
function serviceEnv(prefix: string): Record<string, string> {
  return { REDIS_URL, REDIS_KEY_PREFIX: prefix, INTERNAL_TOKEN, JWT_SECRET, LOG_LEVEL: 'info', ...RATE_LIMITS_OFF };
}

describe('SIGTERM with 1 000 streams open (gateway -> ai-proxy, SHUTDOWN_GRACE_MS=6000)', () => {
  const prefix = `e2e-shutdown-streams:${process.pid}:${Date.now()}:`;
  const common = serviceEnv(prefix);
  let fake: FakeProcess | undefined;
  let proxyEnv: Record<string, string>;
  const proxies: ServiceProcess[] = [];
  let gateway: ServiceProcess | undefined;
  const clients: Client[] = [];

  beforeAll(async () => {
    fake = await startFakeProcess(UPSTREAM_FLAGS);
    proxyEnv = { ...common, XAI_API_KEY: API_KEY, XAI_BASE_URL: fake.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) };
    proxies.push(await startService('ai-proxy', proxyEnv));
    gateway = await startService('gateway', { ...common, AI_PROXY_URL: proxies[0]?.base ?? '' });
  });
  afterAll(async () => {
    for (const client of clients) client.abort();
    await gateway?.stop();
    // A second SIGTERM ends a replica whose drain hung (the runtime listens for the first only).
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    await fake?.stop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('ends every stream with the in-band shutdown error, exits 0 within the grace, and counts each stream once', async () => {
    const base = gateway?.base ?? '';
    const proxy = proxies[0] as ServiceProcess;
    const count = (test: (client: Client) => boolean) => clients.filter(test).length;
    clients.push(...Array.from({ length: STREAMS }, (_, i) => openStream(base, `drain-user-${i % 20}`)));
    await eventually(
      async () => clients.every((c) => c.deltas > 0 || c.ended !== undefined),
      60_000,
      `${STREAMS} streams delivering`,
    );
    expect(count((c) => c.status !== 200 || c.ended !== undefined)).toBe(0);

    for (const client of clients) client.deltasAtSigterm = client.deltas;
    const exited = proxy.stop();
    const exit = await Promise.race([exited, sleep(GRACE_MS + EXIT_MARGIN_MS, 'still running' as const)]);
    expect(exit, 'ai-proxy exit code within the grace plus its flush').toBe(0);
    // ai-proxy is gone, so nothing is left to end a stream: one still being read here hangs.
    await Promise.race([Promise.all(clients.map((c) => c.finished)), sleep(5_000)]);

    expect({
      hung: count((c) => c.ended === undefined),
      endedCleanly: count((c) => c.ended === 'clean'),
      servedDuringTheDrain: count((c) => c.deltas > c.deltasAtSigterm),
      shutdownErrorLast: count((c) => c.error?.code === 'service_unavailable' && c.afterError === 0),
      completed: count((c) => c.completed),
    }).toEqual({
      hung: 0,
      endedCleanly: STREAMS,
      servedDuringTheDrain: STREAMS,
      shutdownErrorLast: STREAMS,
      completed: 0,
    });
    // The contract's error JSON, OpenAI's type for a 503, and when to retry.
    expect(
      count(
        (c) =>
          c.error?.type === 'api_error' &&
          c.error.retry_after_s === 1 &&
          typeof c.error.message === 'string' &&
          typeof c.error.request_id === 'string',
      ),
    ).toBe(STREAMS);
    expect(new Set(clients.map((c) => c.error?.request_id)).size).toBe(STREAMS);

    // One usage record per stream, estimated (no usage came from upstream) and marked as such...
    const records = usageRecords(proxy.output());
    expect(records).toHaveLength(STREAMS);
    const estimated = records.filter(
      (r) => r.outcome === 'service_unavailable' && r.tokens_estimated === true && Number(r.tokens_used) > 0,
    );
    expect(estimated).toHaveLength(STREAMS);
    const loggedTokens = records.reduce((sum, r) => sum + Number(r.tokens_used), 0);

    // ...and exactly those in the store, as a new replica on the same address and Redis reads it.
    proxies.push(await startService('ai-proxy', proxyEnv, { port: proxy.port }));
    expect(await usageTotals(base)).toMatchObject({ total_requests: STREAMS, total_tokens: loggedTokens });
  });
});

// SIGTERM to the gateway alone (its replica rolled, ai-proxy stays): the streams it relays end with
// the same in-band error, ai-proxy counts each abandoned call once, and an OpenAI SDK client sees
// the error as the SDK's APIError, not a broken connection.
describe('SIGTERM to the gateway with 300 streams open (SHUTDOWN_GRACE_MS=4000, ai-proxy staying up)', () => {
  const GATEWAY_STREAMS = 300;
  /** Of them, through the official OpenAI SDK (`chat/completions`). */
  const SDK_STREAMS = 20;
  /** The gateway's grace: its relays still open are ended at 3.6 s (half the margin before the cut). */
  const GATEWAY_GRACE_MS = 4000;
  const prefix = `e2e-shutdown-gateway:${process.pid}:${Date.now()}:`;
  const common = serviceEnv(prefix);
  let fake: FakeProcess | undefined;
  let proxy: ServiceProcess | undefined;
  const gateways: ServiceProcess[] = [];
  const clients: Client[] = [];
  const sdk = new AbortController();

  beforeAll(async () => {
    fake = await startFakeProcess(UPSTREAM_FLAGS);
    proxy = await startService('ai-proxy', { ...common, XAI_API_KEY: API_KEY, XAI_BASE_URL: fake.url });
    gateways.push(
      await startService('gateway', {
        ...common,
        AI_PROXY_URL: proxy.base,
        SHUTDOWN_GRACE_MS: String(GATEWAY_GRACE_MS),
      }),
    );
  });
  afterAll(async () => {
    for (const client of clients) client.abort();
    sdk.abort();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await proxy?.stop();
    await fake?.stop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it('ends every relayed stream in-band, exits 0 within the grace, and ai-proxy counts each call once', async () => {
    const gateway = gateways[0] as ServiceProcess;
    const count = (test: (client: Client) => boolean) => clients.filter(test).length;
    clients.push(
      ...Array.from({ length: GATEWAY_STREAMS - SDK_STREAMS }, (_, i) =>
        openStream(gateway.base, `edge-user-${i % 10}`),
      ),
    );
    const openai = new OpenAI({ baseURL: `${gateway.base}/api/v1/ai`, apiKey: token('edge-sdk-user') });
    let sdkChunks = 0;
    const sdkOutcomes = Array.from({ length: SDK_STREAMS }, async () => {
      const stream = await openai.chat.completions.create(
        { model: 'grok-4-fast', messages: [{ role: 'user', content: 'a long essay' }], stream: true },
        { signal: sdk.signal },
      );
      try {
        for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) sdkChunks += 1;
        return { completed: true };
      } catch (err) {
        return { error: err };
      }
    });
    await eventually(
      async () => sdkChunks >= SDK_STREAMS && clients.every((c) => c.deltas > 0 || c.ended !== undefined),
      60_000,
      `${GATEWAY_STREAMS} streams delivering`,
    );
    expect(count((c) => c.status !== 200 || c.ended !== undefined)).toBe(0);

    const exit = await Promise.race([
      gateway.stop(),
      sleep(GATEWAY_GRACE_MS + EXIT_MARGIN_MS, 'still running' as const),
    ]);
    expect(exit, 'gateway exit code within the grace plus its flush').toBe(0);
    await Promise.race([Promise.all(clients.map((c) => c.finished)), sleep(5_000)]);
    expect({
      hung: count((c) => c.ended === undefined),
      endedCleanly: count((c) => c.ended === 'clean'),
      shutdownErrorLast: count(
        (c) => c.error?.code === 'service_unavailable' && c.error.retry_after_s === 1 && c.afterError === 0,
      ),
      completed: count((c) => c.completed),
    }).toEqual({ hung: 0, endedCleanly: clients.length, shutdownErrorLast: clients.length, completed: 0 });

    // The SDK raises the in-band event as its APIError, with the contract's code and message.
    const outcomes = await Promise.all(sdkOutcomes);
    expect(
      outcomes.filter(
        ({ error }) =>
          error instanceof OpenAI.APIError &&
          (error.error as { code?: unknown } | undefined)?.code === 'service_unavailable' &&
          /shutting down/.test(error.message),
      ),
    ).toHaveLength(SDK_STREAMS);

    // ai-proxy, still up, saw every call abandoned: one usage record each, estimated, and the same
    // counts in the store as a new gateway reads them.
    let records: Array<Record<string, unknown>> = [];
    await eventually(
      async () => {
        records = usageRecords(proxy?.output() ?? '');
        return records.length >= GATEWAY_STREAMS;
      },
      10_000,
      'a usage record per stream',
    );
    expect(records).toHaveLength(GATEWAY_STREAMS);
    expect(
      records.filter((r) => r.outcome === 'client_closed' && r.tokens_estimated === true && Number(r.tokens_used) > 0),
    ).toHaveLength(GATEWAY_STREAMS);
    const loggedTokens = records.reduce((sum, r) => sum + Number(r.tokens_used), 0);
    gateways.push(await startService('gateway', { ...common, AI_PROXY_URL: proxy?.base ?? '' }));
    expect(await usageTotals(gateways[1]?.base ?? '')).toMatchObject({
      total_requests: GATEWAY_STREAMS,
      total_tokens: loggedTokens,
    });
  });
});
