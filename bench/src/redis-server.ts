/**
 * A private `redis-server` on a free loopback port, no persistence: measurements whose Redis figures
 * (CPU, INFO memory) must not mix with what other processes do on the shared one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './processes.ts';

export interface RedisServer {
  process: ChildProcess;
  url: string;
  stop(): void;
}

/** Starts `redis-server` (from PATH) on 127.0.0.1 and waits until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  for (let i = 0; i < 100; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return { process: proc, url, stop };
    } catch {
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  stop();
  throw new Error('redis-server did not start');
}
