import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '@flashcase/config';
import { type FakeOpenAI, startFakeOpenAI } from '@flashcase/fake-openai';
import { type CountersStore, RedisStore } from '@flashcase/store';
import { createInstruments, getLogger, setupLogging } from '@flashcase/telemetry';
import { LineCapture, testMeters } from '@flashcase/testkit';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import { HmacVerifier } from '../../src/auth/jwt';
import { Forwarder } from '../../src/proxy/forward';
import { RequestStatsRecorder } from '../../src/stats/request-stats';
import { signDevToken } from './dev-token';
import { type ServiceProcess, startService } from './processes';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const JWT_SECRET = 'gateway-test-secret-0123456789abcdef-0123456789';
export const INTERNAL_TOKEN = 'internal-test-token-0123456789abcdef';
export const API_KEY = 'xai-test-key';

export interface GatewayHarness {
  base: string;
  fake: FakeOpenAI;
  aiProxy: ServiceProcess;
  store: CountersStore;
  stats: RequestStatsRecorder;
  logs: LineCapture;
  points: ReturnType<typeof testMeters>['points'];
  token(userId: string, role?: 'user' | 'admin', ttlS?: number): string;
  close(): Promise<void>;
}

/**
 * The gateway's real app in-process on a loopback port, in front of a real ai-proxy process, both
 * on one real Redis (a unique key prefix), with the fake OpenAI upstream behind ai-proxy.
 */
export async function startGateway(env: Record<string, string> = {}): Promise<GatewayHarness> {
  const prefix = `flashcase-test:gateway:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  const fake = await startFakeOpenAI({ apiKey: API_KEY });
  const shared = {
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    INTERNAL_TOKEN,
    JWT_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  };
  const aiProxy = await startService('ai-proxy', { ...shared, XAI_API_KEY: API_KEY, XAI_BASE_URL: fake.url });
  const config: Config = loadConfig('gateway', { ...shared, ENVIRONMENT: 'test', AI_PROXY_URL: aiProxy.base });
  const logs = new LineCapture();
  setupLogging({ environment: 'test', stream: logs, otlp: false });
  const redis = new Redis(REDIS_URL);
  const store = new RedisStore(redis, { keyPrefix: prefix, closeClient: false });
  const meters = testMeters();
  const instruments = createInstruments(meters.meter);
  const aiForwarder = new Forwarder({
    target: config.urls.aiProxy,
    name: 'ai-proxy',
    internalToken: INTERNAL_TOKEN,
    timeoutMs: 10_000,
  });
  const alerting = new Forwarder({
    target: 'http://127.0.0.1:1',
    name: 'alerting',
    internalToken: INTERNAL_TOKEN,
    timeoutMs: 2_000,
  });
  const stats = new RequestStatsRecorder(store, getLogger('gateway.test'), 60_000);
  const app = createApp({
    config,
    store,
    storeState: () => 'connected',
    instruments,
    verifier: new HmacVerifier(JWT_SECRET),
    aiProxy: aiForwarder,
    alerting,
    stats,
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    fake,
    aiProxy,
    store,
    stats,
    logs,
    points: meters.points,
    token: (userId, role = 'user', ttlS = 600) => signDevToken(JWT_SECRET, userId, role, ttlS),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await stats.close();
      await aiForwarder.close();
      await alerting.close();
      await aiProxy.stop();
      await fake.close();
      await meters.shutdown();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
