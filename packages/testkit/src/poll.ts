import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reads until `settled(value)` holds or `timeoutMs` passes, and returns the last value read: the
 * caller asserts on it, so a value that never settles fails with what was last seen. For state that
 * another process writes just after it answers (usage counters read from another replica).
 */
export async function readUntil<T>(
  read: () => Promise<T>,
  settled: (value: T) => boolean,
  { timeoutMs = 2000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (settled(value) || Date.now() >= deadline) return value;
    await sleep(intervalMs);
  }
}
