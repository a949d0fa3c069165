/** The shared test Redis (`.ci/run` / `./flashcase test` start it on the default port). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test (or concurrent run) uses. */
export function uniquePrefix(): string {
  return `flashcase-test:store:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}

export { deleteKeys, listKeys, RedisCluster, RedisServer } from '@flashcase/testkit';
