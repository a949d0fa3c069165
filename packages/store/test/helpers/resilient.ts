import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisClient, RedisStore, type UsageRecord } from '../../src/index';
import { whenReady } from '../../src/redis/client';
import { REDIS_URL, uniquePrefix } from './redis';

/** The command timeout the resilient parts' tests use: short, so an outage shows quickly. */
export const TEST_COMMAND_TIMEOUT_MS = 300;

/** Polls `condition` every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** A connected RedisStore under a key prefix of its own, on `url` (default: the shared test Redis). */
export async function connectStore(url = REDIS_URL): Promise<RedisStore> {
  const client = createRedisClient({ url, commandTimeoutMs: TEST_COMMAND_TIMEOUT_MS });
  await whenReady(client);
  return new RedisStore(client, { keyPrefix: uniquePrefix() });
}

/** The `i`-th test usage record: user-<i % 3>, 10 + i prompt tokens, 1 completion token, i + 1 ticks. */
export function usageRecord(i: number): UsageRecord {
  return {
    userId: `user-${i % 3}`,
    model: 'grok-4-fast',
    operation: 'chat',
    promptTokens: 10 + i,
    completionTokens: 1,
    costTicks: i + 1,
    timestampMs: Date.now(),
  };
}

/** Sum of the prompt tokens of `usageRecord(from)` .. `usageRecord(to - 1)`. */
export function promptTokensOf(from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += 10 + i;
  return sum;
}

/** No time bound (the replay buffer's tests look at order and counts, not at timeouts). */
export const unbounded = <T>(promise: Promise<T>): Promise<T> => promise;
