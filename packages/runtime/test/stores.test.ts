import { Writable } from 'node:stream';
import { loadConfig } from '@flashcase/config';
import { createRedisClient } from '@flashcase/store';
import { createInstruments, getLogger, setupLogging } from '@flashcase/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAlertStateStore, openCountersStore, type StoreDeps } from '../src/stores';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `flashcase-test:runtime-stores:${process.pid}:${Math.random().toString(36).slice(2)}:`;

/** Every log line written, as JSON. */
class Lines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line) this.lines.push(JSON.parse(line));
    callback();
  }
}

/**
 * A service's context for opening stores: the real config, logger and instruments, with the
 * degraded gauge's source and the shutdown tasks kept where the test can read them.
 */
function context(env: Record<string, string>) {
  const instruments = createInstruments();
  const seen: { degraded?: () => number | undefined; shutdown: Array<() => Promise<void> | void> } = {
    shutdown: [],
  };
  const deps: StoreDeps = {
    service: 'alerting',
    config: loadConfig('alerting', { ENVIRONMENT: 'test', REDIS_KEY_PREFIX: PREFIX, ...env }),
    log: getLogger('runtime.test'),
    instruments: {
      ...instruments,
      setStoreDegradedSource(source) {
        seen.degraded = source as () => number | undefined;
        instruments.setStoreDegradedSource(source);
      },
    },
    onShutdown: (task) => seen.shutdown.push(task),
  };
  return { deps, seen };
}

const logs = new Lines();
beforeAll(() => {
  setupLogging({ environment: 'test', stream: logs, otlp: false });
});

describe('alert state store from the runtime context', () => {
  const admin = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 2_000 });

  afterAll(async () => {
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('is embedded without REDIS_URL, says it serves one replica only, and is never degraded', async () => {
    const { deps, seen } = context({});
    const handle = await openAlertStateStore(deps);
    expect(handle.state()).toBe('embedded');
    expect(seen.degraded?.()).toBe(0);
    await handle.store.putDocument('silence', 's1', { id: 's1' });
    expect(await handle.store.getDocument('silence', 's1')).toEqual({ id: 's1' });
    expect(logs.lines.some((l) => String(l.message).includes('alert state is kept in this process'))).toBe(true);
    expect(seen.shutdown).toHaveLength(1);
    await seen.shutdown[0]?.();
  });

  it('is Redis from REDIS_URL under REDIS_KEY_PREFIX, its connection named flashcase-<service>:<pid>', async () => {
    const { deps, seen } = context({ REDIS_URL });
    const handle = await openAlertStateStore(deps);
    expect(handle.state()).toBe('connected');
    expect(seen.degraded?.()).toBe(0);
    await handle.store.putDocument('silence', 's2', { id: 's2' });
    expect((await admin.keys(`${PREFIX}*`)).length).toBeGreaterThan(0);
    expect(String(await admin.client('LIST'))).toContain(`name=flashcase-alerting:${process.pid}`);
    // Another replica with the same variables sees the same state.
    const other = await openAlertStateStore(context({ REDIS_URL }).deps);
    expect(await other.store.getDocument('silence', 's2')).toEqual({ id: 's2' });
    await other.store.close();
    await seen.shutdown[0]?.();
    // The shutdown task closed the connection: no client of that name is left.
    const deadline = Date.now() + 2_000;
    while (String(await admin.client('LIST')).includes(`name=flashcase-alerting:${process.pid}`)) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('starts within about 2 s when Redis cannot be reached, and reports the store degraded', async () => {
    const { deps, seen } = context({ REDIS_URL: 'redis://127.0.0.1:1' });
    const started = Date.now();
    const handle = await openAlertStateStore(deps);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(handle.state()).toBe('disconnected');
    expect(seen.degraded?.()).toBe(1);
    await seen.shutdown[0]?.();
  });
});

describe('counters store from the runtime context', () => {
  it('is embedded without REDIS_URL, warns that limits do not span replicas, and closes on shutdown', async () => {
    const { deps, seen } = context({});
    const handle = await openCountersStore(deps);
    expect(handle.state()).toBe('embedded');
    expect(seen.degraded?.()).toBe(0);
    expect(logs.lines.some((l) => String(l.message).includes('limits do not span replicas'))).toBe(true);
    expect(seen.shutdown).toHaveLength(1);
    await seen.shutdown[0]?.();
  });
});
