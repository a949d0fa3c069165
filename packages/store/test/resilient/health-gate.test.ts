import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient, StoreUnavailableError } from '../../src/index';
import { whenReady } from '../../src/redis/client';
import { HealthGate } from '../../src/resilient/health-gate';
import { RedisServer } from '../helpers/redis';
import { TEST_COMMAND_TIMEOUT_MS, waitFor } from '../helpers/resilient';

describe('health gate', () => {
  let server: RedisServer;
  let client: Redis;
  let gate: HealthGate | undefined;
  let states: [boolean, unknown][];
  let pings: number;
  let recoveries: number;
  /** What the next recovery answers: the resilient store says true once its buffer is written back. */
  let recovered: boolean;

  function open(pingIntervalMs = 60_000): HealthGate {
    gate = new HealthGate({
      commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS,
      pingIntervalMs,
      ping: () => {
        pings++;
        return client.ping();
      },
      recover: async () => {
        recoveries++;
        return recovered;
      },
    });
    gate.onStateChange((degraded, cause) => states.push([degraded, cause]));
    return gate;
  }

  beforeEach(async () => {
    server = await RedisServer.start();
    client = createRedisClient({ url: server.url, commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS }) as Redis;
    await whenReady(client);
    states = [];
    pings = 0;
    recoveries = 0;
    recovered = true;
  });

  afterEach(async () => {
    await gate?.close();
    gate = undefined;
    client.disconnect();
    await server.stop();
  });

  it('starts healthy, and turns degraded once on failures, telling listeners the first cause', async () => {
    const gate = open();
    expect(gate.isDegraded()).toBe(false);
    const first = new Error('connection lost');
    gate.fail(first);
    gate.fail(new Error('again'));
    expect(gate.isDegraded()).toBe(true);
    expect(states).toEqual([[true, first]]);
  });

  it('stays healthy when a probe answers and nothing failed, without trying to recover', async () => {
    const gate = open();
    await gate.check();
    expect(pings).toBe(1);
    expect(recoveries).toBe(0);
    expect(gate.isDegraded()).toBe(false);
    expect(states).toEqual([]);
  });

  it('turns healthy only when a probe answers and the recovery is complete', async () => {
    const gate = open();
    gate.fail(new Error('connection lost'));
    recovered = false;
    await gate.check();
    expect(recoveries).toBe(1);
    expect(gate.isDegraded()).toBe(true);
    recovered = true;
    await gate.check();
    expect(gate.isDegraded()).toBe(false);
    expect(states.map(([degraded]) => degraded)).toEqual([true, false]);
  });

  it('notices an outage from the background probe, does not recover while Redis is away, and recovers after', async () => {
    const gate = open(50);
    await server.kill();
    await waitFor(() => gate.isDegraded(), 3000);
    await sleep(200);
    expect(recoveries).toBe(0);
    await server.restart();
    await waitFor(() => !gate.isDegraded());
    expect(recoveries).toBeGreaterThan(0);
    expect(states.map(([degraded]) => degraded)).toEqual([true, false]);
    expect(states[0]?.[1]).toBeInstanceOf(Error);
  });

  it('bounds a call by the command timeout: a hung Redis rejects with StoreUnavailableError, promptly', async () => {
    const gate = open();
    server.pause();
    const started = performance.now();
    await expect(gate.bounded(client.ping())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(TEST_COMMAND_TIMEOUT_MS + 1000);
    // bounded itself changes no state: the caller decides whether the failure counts
    expect(gate.isDegraded()).toBe(false);
    await expect(gate.check()).resolves.toBeUndefined();
    expect(gate.isDegraded()).toBe(true);
    server.resume();
    await expect(gate.bounded(client.ping())).resolves.toBe('PONG');
  });

  it('runs one probe at a time: a second check joins the running one', async () => {
    const gate = open();
    const a = gate.check();
    const b = gate.check();
    expect(b).toBe(a);
    await a;
    expect(pings).toBe(1);
  });

  it('ignores a listener that throws, and stops calling one that unsubscribed', async () => {
    const gate = open();
    const heard: boolean[] = [];
    gate.onStateChange(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = gate.onStateChange((degraded) => heard.push(degraded));
    gate.fail(new Error('connection lost'));
    unsubscribe();
    await gate.check();
    expect(gate.isDegraded()).toBe(false);
    expect(heard).toEqual([true]);
    expect(states.map(([degraded]) => degraded)).toEqual([true, false]);
  });

  it('freezes its state once closed: no change, no listener, no probe', async () => {
    const gate = open(50);
    await gate.close();
    expect(gate.isClosed()).toBe(true);
    gate.fail(new Error('after close'));
    expect(gate.isDegraded()).toBe(false);
    await gate.check();
    await sleep(150);
    expect(pings).toBe(0);
    expect(states).toEqual([]);
  });
});
