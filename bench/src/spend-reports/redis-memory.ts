/** Redis's memory, whole and by kind of key, for the spend-reports run. */
import type { Redis } from 'ioredis';

/** `used_memory` from INFO memory, in bytes. */
export function usedMemory(info: string): number {
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** MEMORY USAGE of many keys (pipelined); SAMPLES 0 sizes every element of a collection. */
export async function memoryUsage(client: Redis, keys: string[]): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < keys.length; i += 1_000) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(i, i + 1_000)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
    for (const [err, size] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      sizes.push(Number(size ?? 0));
    }
  }
  return sizes;
}

/** Every key matching `pattern`, by SCAN. */
export async function keysMatching(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

/** The kind of a store key under `prefix`: the all-time user hash, or a period hash or ranking by period. */
export function kindOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  if (rest.startsWith('{usage}:user:')) return 'user_all_time';
  const m = /^\{usage\}:(pu|pt|rk:ct|rk:tk):([hdm])/.exec(rest);
  return m ? `${m[1]}_${m[2]}` : 'other';
}
