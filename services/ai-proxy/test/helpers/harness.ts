import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '@flashcase/config';
import { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from '@flashcase/fake-openai';
import {
  type CountersStore,
  EmbeddedSpendStore,
  EmbeddedStore,
  RedisSpendStore,
  RedisStore,
  type SpendStore,
} from '@flashcase/store';
import { createInstruments, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import type { OpenStreams } from '../../src/concurrency/open-streams';
import { OpenAICompatibleProvider } from '../../src/providers/openai-compatible';
import { loadPricing } from '../../src/usage/pricing';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const API_KEY = 'xai-test-key';
export const INTERNAL_TOKEN = 'internal-test-token-0123456789abcdef';

export interface Harness {
  base: string;
  fake: FakeOpenAI;
  store: CountersStore;
  config: Config;
  /** The upstream client the app calls (its connection slots, say). */
  provider: OpenAICompatibleProvider;
  logs: LineCapture;
  points: ReturnType<typeof testMeters>['points'];
  /** Internal headers for a user (what the gateway would send). */
  as(userId: string, role?: 'user' | 'admin'): Record<string, string>;
  post(path: string, body: unknown, userId?: string, extraHeaders?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: 'embedded' | 'redis';
  env?: Record<string, string>;
  /** Puts something between the app and its store (to hold writes back, say). */
  wrapStore?: (store: CountersStore) => CountersStore;
  /** Options of the fake upstream (its usage dialect, say); the API key is the harness's. */
  fake?: Omit<FakeOpenAIOptions, 'apiKey'>;
  /** The calendar budgets' clock (default Date.now). */
  now?: () => number;
  /** The open streams the app tracks (a test ends them as shutdown would); default: the app's own. */
  openStreams?: OpenStreams;
}

/** ai-proxy's real app on a loopback port, with a real store and the fake OpenAI upstream. */
export async function startHarness({
  store: kind = 'embedded',
  env = {},
  wrapStore = (store) => store,
  fake: fakeOptions = {},
  now,
  openStreams,
}: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeOpenAI({ ...fakeOptions, apiKey: API_KEY });
  const config = loadConfig('ai-proxy', {
    ENVIRONMENT: 'test',
    XAI_API_KEY: API_KEY,
    XAI_BASE_URL: fake.url,
    INTERNAL_TOKEN,
    ...env,
  });
  const logs = new LineCapture();
  setupLogging({ environment: 'test', stream: logs, otlp: false });
  const prefix = `flashcase-test:ai-proxy:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  let redis: Redis | undefined;
  let store: CountersStore;
  let spend: SpendStore;
  if (kind === 'redis') {
    redis = new Redis(REDIS_URL);
    store = new RedisStore(redis, { keyPrefix: prefix, closeClient: false });
    spend = new RedisSpendStore(redis, prefix);
  } else {
    store = new EmbeddedStore();
    spend = new EmbeddedSpendStore(now);
  }
  const meters = testMeters();
  const instruments = createInstruments(meters.meter);
  const provider = new OpenAICompatibleProvider({
    baseUrl: config.ai.baseUrl,
    apiKey: config.ai.apiKey ?? '',
    timeoutMs: config.ai.upstreamTimeoutMs,
    streamIdleTimeoutMs: config.ai.streamIdleTimeoutMs,
    maxConnections: config.ai.upstreamMaxConnections,
  });
  const app = createApp({
    config,
    store: wrapStore(store),
    spend,
    ...(now ? { now } : {}),
    storeState: () => (kind === 'redis' ? 'connected' : 'embedded'),
    provider,
    pricing: loadPricing(config.ai.pricingFile),
    instruments,
    ...(openStreams ? { openStreams } : {}),
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const as = (userId: string, role: 'user' | 'admin' = 'user') => ({
    'x-internal-token': INTERNAL_TOKEN,
    'x-flashcase-user-id': userId,
    'x-flashcase-user-role': role,
  });
  return {
    base,
    fake,
    store,
    config,
    provider,
    logs,
    points: meters.points,
    as,
    post: (path, body, userId = 'user-1', extraHeaders = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...as(userId), ...extraHeaders },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await provider.close();
      await fake.close();
      await store.close();
      await meters.shutdown();
      if (redis) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    },
  };
}

/** Reads a whole SSE answer into its `data:` payloads (parsed JSON, or the raw string). */
export async function readSse(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .map((event) => event.trim())
    .filter((event) => event.startsWith('data:'))
    .map((event) => {
      const data = event.slice(5).trim();
      try {
        return JSON.parse(data);
      } catch {
        return data;
      }
    });
}

export interface DoneEvent {
  done: true;
  finish_reason: string;
  usage: OperationUsage;
  cost_estimate_usd: number;
}

/** The `usage` of a FlashCase operation's answer. */
export interface OperationUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  reasoning_tokens: number;
  cached_prompt_tokens: number;
}

/** The final `{"done": true, ...}` event of a FlashCase SSE answer. */
export function doneEvent(events: unknown[]): DoneEvent | undefined {
  return events.find((e): e is DoneEvent => typeof e === 'object' && e !== null && 'done' in e);
}
