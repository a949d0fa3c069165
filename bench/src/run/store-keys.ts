/**
 * The bench's footprint in the shared Redis: the services write under a private key prefix, which
 * is deleted at the end; the plain stack's usage count shows the store saw every call.
 */
import { Redis } from 'ioredis';

/** Deletes every key under `prefix`; a failure is reported, not thrown (the figures still stand). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch (err) {
    process.stderr.write(`bench: could not clean Redis keys ${prefix}*: ${(err as Error).message}\n`);
  } finally {
    redis.disconnect();
  }
}

/** ai-proxy's count of AI calls (`usage.total_requests`), asked as an admin; undefined on failure. */
export async function usageCounted(aiProxyUrl: string, internalToken: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${aiProxyUrl}/api/v1/ai/usage`, {
      headers: {
        'x-internal-token': internalToken,
        'x-flashcase-user-id': 'bench-admin',
        'x-flashcase-user-role': 'admin',
      },
    });
    const body = (await res.json()) as { usage?: { total_requests?: number } };
    return body.usage?.total_requests;
  } catch {
    return undefined;
  }
}
